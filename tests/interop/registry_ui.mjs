// Drives headless Chromium over the DevTools protocol through the registry's web UI as an
// approver. Usage: node --experimental-websocket registry_ui.mjs URL TOKEN PROFILE_DIR SCREENSHOT
import { spawn } from 'node:child_process';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';

const [url, token, profile, screenshot] = process.argv.slice(2);
let browser = null;
const deadline = setTimeout(() => fail('timed out after 60 s'), 60_000);

function fail(message) {
  console.error(`registry_ui: ${message}`);
  browser?.kill('SIGKILL');
  process.exit(1);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

await mkdir(profile, { recursive: true });
browser = spawn('chromium', [
  '--headless', '--disable-gpu', '--no-sandbox', '--no-first-run', '--disable-sync',
  '--disable-background-networking', '--disable-component-update', '--disable-default-apps',
  '--remote-debugging-port=0', `--user-data-dir=${profile}`, '--window-size=1280,900', 'about:blank',
], { stdio: ['ignore', 'ignore', 'ignore'] });

let port = null;
for (let i = 0; i < 200 && port === null; i++) {
  try {
    port = (await readFile(join(profile, 'DevToolsActivePort'), 'utf8')).split('\n')[0];
  } catch {
    await sleep(100);
  }
}
if (!port) fail('Chromium did not open its DevTools port');

const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
const page = targets.find((target) => target.type === 'page');
if (!page) fail('no page target');
const socket = new WebSocket(page.webSocketDebuggerUrl);
await new Promise((resolve, reject) => {
  socket.onopen = resolve;
  socket.onerror = reject;
});

let nextId = 0;
const pending = new Map();
const listeners = [];
socket.onmessage = (message) => {
  const data = JSON.parse(message.data);
  if (data.id !== undefined && pending.has(data.id)) {
    const { resolve, reject } = pending.get(data.id);
    pending.delete(data.id);
    data.error ? reject(new Error(JSON.stringify(data.error))) : resolve(data.result);
  } else if (data.method) {
    for (const listener of listeners.splice(0)) {
      if (listener.method === data.method) listener.resolve(data.params);
      else listeners.push(listener);
    }
  }
};
const send = (method, params = {}) => new Promise((resolve, reject) => {
  const id = ++nextId;
  pending.set(id, { resolve, reject });
  socket.send(JSON.stringify({ id, method, params }));
});
const once = (method) => new Promise((resolve) => listeners.push({ method, resolve }));
const evaluate = async (expression) => {
  const { result, exceptionDetails } = await send('Runtime.evaluate', { expression, returnByValue: true });
  if (exceptionDetails) fail(`evaluation failed: ${expression}: ${JSON.stringify(exceptionDetails)}`);
  return result.value;
};
/** Runs `action` (a navigation or a click that submits a form) and waits for the next page. */
const loading = async (action) => {
  const loaded = once('Page.loadEventFired');
  await action();
  await loaded;
};
const goto = (address) => loading(() => send('Page.navigate', { url: address }));
const text = () => evaluate('document.body.innerText');
const click = (id) => loading(() => evaluate(`document.getElementById(${JSON.stringify(id)}).click()`));

await send('Page.enable');
await send('Runtime.enable');

// Without a session every page asks to sign in.
await goto(`${url}/ui/`);
if (!(await text()).includes('Sign in')) fail('an anonymous visitor was not asked to sign in');

await goto(`${url}/ui/login`);
await evaluate(`document.getElementById('token').value = ${JSON.stringify(token)}`);
await click('sign-in');
const home = await evaluate('location.pathname');
if (home !== '/ui/') fail(`after signing in the browser is at ${home}:\n${await text()}`);
if (!(await text()).includes('abe')) fail('the signed-in user is not shown');

await goto(`${url}/ui/ml/evil/1.0.0`);
const evil = await text();
for (const expected of ['QUARANTINED', 'pickle/', 'backdoored_checkpoint.pt']) {
  if (!evil.toUpperCase().includes(expected.toUpperCase())) fail(`the quarantined version does not show ${expected}:\n${evil}`);
}
if (await evaluate("document.getElementById('approve') !== null")) fail('a quarantined version offers an approve button');
if (await evaluate("document.querySelector('a[href*=\"/blobs/\"]') !== null")) fail('a quarantined version offers a download link');

await goto(`${url}/ui/ml/clean/1.0.0`);
await click('approve');
if (!(await text()).toUpperCase().includes('APPROVED')) fail(`approving did not show the approved state:\n${await text()}`);
await evaluate("document.getElementById('stage').value = 'production'");
await click('promote');
const promoted = await text();
if (!promoted.includes('production')) fail(`the promotion is not in the stage history:\n${promoted}`);

await goto(`${url}/ui/audit`);
const audit = await text();
for (const action of ['version.approve', 'stage.promote', 'version.gates']) {
  if (!audit.includes(action)) fail(`the audit page does not list ${action}`);
}
const { data } = await send('Page.captureScreenshot', { format: 'png' });
await writeFile(screenshot, Buffer.from(data, 'base64'));

clearTimeout(deadline);
socket.close();
browser.kill('SIGKILL');
console.log('registry_ui: the browser signed in, saw the quarantine, approved and promoted');
