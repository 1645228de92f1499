//! Checks of the image config: what the image runs as, what its environment, labels and
//! build history give away, and how it was built. Secrets are found by rampart-secrets'
//! detector, run on each `Env` entry, label and history command as a line of text.

use rampart_core::{Finding, Location, Severity};

use crate::image::Image;
use crate::rules::{
    ADD_FROM_URL, CURL_PIPE_SHELL, DECLARED_VOLUME, NOTABLE_PORT, RUNS_AS_ROOT,
    UNPINNED_PACKAGE_INSTALL,
};

/// Ports of services that should not be reachable from a model-serving container, with
/// what they are. The Docker API without TLS (2375) is remote root on the host.
const NOTABLE_PORTS: &[(u16, &str, Severity)] = &[
    (22, "SSH", Severity::Low),
    (23, "telnet", Severity::Medium),
    (2375, "the Docker API without TLS", Severity::Medium),
    (2376, "the Docker API", Severity::Low),
    (3306, "MySQL", Severity::Low),
    (5432, "PostgreSQL", Severity::Low),
    (5900, "VNC", Severity::Low),
    (6379, "Redis", Severity::Low),
    (8888, "Jupyter", Severity::Low),
    (9200, "Elasticsearch", Severity::Low),
    (11211, "memcached", Severity::Low),
    (27017, "MongoDB", Severity::Low),
];

/// History commands are cut to this many characters in evidence.
const EVIDENCE_CHARS: usize = 160;

impl Image {
    /// Where findings about the image config point: `image!/config (sha256:<12 hex>)`.
    pub fn config_location(&self) -> Location {
        let hex = self.config_digest.hex();
        self.location
            .member(format!("config (sha256:{})", hex.get(..12).unwrap_or(hex)))
    }

    /// Checks the image config: secrets in `Env`, labels and history commands (reported
    /// under rampart-secrets' rules), running as root, `curl | sh`, `ADD` from a URL and
    /// unpinned package installs in the history, notable ports and declared volumes.
    pub fn check_config(&self, out: &mut Vec<Finding>) {
        let config = &self.config;
        let here = self.config_location();
        let mut secrets = Vec::new();
        for (index, entry) in config.env.iter().enumerate() {
            let name = entry
                .split_once('=')
                .map_or(entry.as_str(), |(name, _)| name);
            let at = here.with_resource(format!("Env[{index}] {name}"));
            rampart_secrets::scan_text(entry.as_bytes(), &at, &mut secrets);
        }
        for (key, value) in &config.labels {
            let at = here.with_resource(format!("label {key}"));
            rampart_secrets::scan_text(format!("{key}={value}").as_bytes(), &at, &mut secrets);
        }
        let mut history_secrets = Vec::new();
        for (index, step) in config.history.iter().enumerate() {
            let Some(command) = step.created_by.as_deref() else {
                continue;
            };
            let at = here.with_resource(format!("history[{index}]"));
            rampart_secrets::scan_text(command.as_bytes(), &at, &mut history_secrets);
            check_build_step(command, &at, out);
        }
        // `ENV X=secret` shows in both Env and the history: report it once, where it is live.
        history_secrets.retain(|finding| {
            finding.evidence.is_none()
                || !secrets.iter().any(|seen| {
                    seen.rule.id == finding.rule.id && seen.evidence == finding.evidence
                })
        });
        for mut finding in secrets.into_iter().chain(history_secrets) {
            finding.message.push_str(
                " (in the image config: anyone who can pull the image reads it with `docker inspect` \
                 or `docker history`)",
            );
            out.push(finding);
        }
        if config.runs_as_root() {
            let user = config.user.as_deref().unwrap_or("");
            let message = if user.is_empty() {
                "the image config sets no User, so containers run as root".to_owned()
            } else {
                format!("the image config sets User `{user}`, which is root")
            };
            out.push(Finding::new(
                &RUNS_AS_ROOT,
                here.with_resource("User"),
                message,
            ));
        }
        for port in &config.exposed_ports {
            let number = port.split('/').next().and_then(|n| n.parse::<u16>().ok());
            if let Some(&(_, service, severity)) = NOTABLE_PORTS
                .iter()
                .find(|(notable, _, _)| Some(*notable) == number)
            {
                out.push(
                    Finding::new(
                        &NOTABLE_PORT,
                        here.with_resource(format!("ExposedPorts {port}")),
                        format!("the image exposes port {port}, usually {service}"),
                    )
                    .with_severity(severity),
                );
            }
        }
        for volume in &config.volumes {
            out.push(Finding::new(
                &DECLARED_VOLUME,
                here.with_resource(format!("Volumes {volume}")),
                format!(
                    "the image declares the volume {volume}: what is there at run time is not part of \
                     the scanned image"
                ),
            ));
        }
    }
}

/// One history command: downloads piped into a shell, `ADD` from a URL, unpinned installs.
fn check_build_step(command: &str, at: &Location, out: &mut Vec<Finding>) {
    let evidence = cut(command);
    if let Some(pipe) = curl_pipe_shell(command) {
        out.push(
            Finding::new(
                &CURL_PIPE_SHELL,
                at.clone(),
                format!("a build step runs a downloaded script: `{}`", cut(&pipe)),
            )
            .with_evidence(evidence.clone()),
        );
    }
    if let Some(url) = add_from_url(command) {
        out.push(
            Finding::new(
                &ADD_FROM_URL,
                at.clone(),
                format!("a build step adds {} without --checksum", cut(&url)),
            )
            .with_evidence(evidence.clone()),
        );
    }
    let unpinned = unpinned_installs(command);
    if !unpinned.is_empty() {
        let listed: Vec<String> = unpinned
            .iter()
            .map(|(tool, package)| format!("{package} ({tool})"))
            .take(10)
            .collect();
        let more = unpinned.len().saturating_sub(listed.len());
        out.push(
            Finding::new(
                &UNPINNED_PACKAGE_INSTALL,
                at.clone(),
                format!(
                    "a build step installs {} package(s) without a pinned version: {}{}; common in \
                     base images, where the distribution's signed repository stands in for a pin",
                    unpinned.len(),
                    listed.join(", "),
                    if more > 0 {
                        format!(" and {more} more")
                    } else {
                        String::new()
                    }
                ),
            )
            .with_evidence(evidence),
        );
    }
}

fn cut(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(EVIDENCE_CHARS) {
        Some((end, _)) => format!("{}…", text.get(..end).unwrap_or(text)),
        None => text.to_owned(),
    }
}

/// Shell commands of a step, split at `&&`, `||`, `;` and newlines; each keeps its pipes.
fn commands(text: &str) -> impl Iterator<Item = &str> {
    text.split(['\n', ';'])
        .flat_map(|part| part.split("&&"))
        .flat_map(|part| part.split("||"))
        .map(str::trim)
        .filter(|part| !part.is_empty())
}

const SHELLS: &[&str] = &[
    "sh", "bash", "zsh", "dash", "ash", "ksh", "python", "python3", "perl", "ruby",
];

/// `curl … | sh`, `wget -O- … | sudo bash`: the download command and the shell it feeds.
fn curl_pipe_shell(text: &str) -> Option<String> {
    for command in commands(text) {
        let stages: Vec<&str> = command.split('|').map(str::trim).collect();
        for pair in stages.windows(2) {
            let [download, runner] = pair else {
                continue;
            };
            let downloads = download
                .split_whitespace()
                .any(|word| matches!(base_name(word), "curl" | "wget"));
            let mut words = runner.split_whitespace();
            let mut first = words.next().unwrap_or("");
            if first == "sudo" {
                first = words.next().unwrap_or("");
            }
            if downloads && SHELLS.contains(&base_name(first)) {
                return Some(format!("{download} | {runner}"));
            }
        }
    }
    None
}

fn base_name(word: &str) -> &str {
    let word = word.trim_matches(|c| c == '"' || c == '\'' || c == '(');
    word.rsplit('/').next().unwrap_or(word)
}

/// The URL of a Dockerfile `ADD` step fetching from the network without `--checksum`, as
/// BuildKit records it (`ADD https://… /dst # buildkit`).
fn add_from_url(text: &str) -> Option<String> {
    let text = text
        .trim()
        .strip_prefix("/bin/sh -c #(nop)")
        .unwrap_or(text)
        .trim();
    let mut words = text.split_whitespace();
    if words.next() != Some("ADD") {
        return None;
    }
    let mut checksum = false;
    for word in words {
        if word.starts_with("--checksum") {
            checksum = true;
        } else if word.starts_with("--") {
            continue;
        } else if word.starts_with("http://") || word.starts_with("https://") {
            return (!checksum).then(|| word.to_owned());
        } else {
            return None;
        }
    }
    None
}

/// Options of the package managers that take a value as the next word.
const APT_VALUE_OPTIONS: &[&str] = &["-o", "-c", "-t", "--target-release", "--option"];
const PIP_VALUE_OPTIONS: &[&str] = &[
    "-r",
    "--requirement",
    "-c",
    "--constraint",
    "-e",
    "--editable",
    "-i",
    "--index-url",
    "--extra-index-url",
    "-f",
    "--find-links",
    "-t",
    "--target",
    "--prefix",
    "--root",
    "--trusted-host",
    "--platform",
    "--python-version",
    "--only-binary",
    "--no-binary",
    "--progress-bar",
    "--cache-dir",
    "--src",
    "--upgrade-strategy",
];
const APK_VALUE_OPTIONS: &[&str] = &[
    "-t",
    "--virtual",
    "-X",
    "--repository",
    "-p",
    "--root",
    "--repositories-file",
    "--keys-dir",
    "--arch",
    "--cache-dir",
];

/// `(tool, package)` for every package a step installs by name without a version.
fn unpinned_installs(text: &str) -> Vec<(&'static str, String)> {
    let mut found = Vec::new();
    for command in commands(text) {
        for stage in command.split('|') {
            let words: Vec<&str> = stage.split_whitespace().collect();
            let Some((tool, arguments)) = install_arguments(&words) else {
                continue;
            };
            let value_options = match tool {
                "apt-get" => APT_VALUE_OPTIONS,
                "pip" => PIP_VALUE_OPTIONS,
                _ => APK_VALUE_OPTIONS,
            };
            if tool == "pip" && arguments.contains(&"--require-hashes") {
                continue;
            }
            let mut skip_value = false;
            for raw in arguments {
                if std::mem::take(&mut skip_value) {
                    continue;
                }
                let word = raw.trim_matches(|c| c == '"' || c == '\'');
                if word.starts_with('-') {
                    skip_value = !word.contains('=') && value_options.contains(&word);
                    continue;
                }
                if !word.is_empty() && !is_pinned_or_unknown(tool, word) {
                    found.push((tool, word.to_owned()));
                }
            }
        }
    }
    found
}

/// The install arguments of `apt-get|apt install`, `pip|pip3|python -m pip|uv pip install`
/// and `apk add`, after the subcommand.
fn install_arguments<'w>(words: &'w [&'w str]) -> Option<(&'static str, &'w [&'w str])> {
    for (index, word) in words.iter().enumerate() {
        let rest = words.get(index + 1..).unwrap_or_default();
        let subcommand = |wanted: &str| {
            // Options may come before the subcommand (`apt-get -y install`).
            rest.iter()
                .position(|w| !w.starts_with('-'))
                .filter(|&at| rest.get(at) == Some(&wanted))
                .map(|at| rest.get(at + 1..).unwrap_or_default())
        };
        let tool = match base_name(word) {
            "apt-get" | "apt" => "apt-get",
            "pip" | "pip3" => "pip",
            name if name.starts_with("pip3.") => "pip",
            "apk" => "apk",
            _ => continue,
        };
        let wanted = if tool == "apk" { "add" } else { "install" };
        if let Some(arguments) = subcommand(wanted) {
            return Some((tool, arguments));
        }
    }
    None
}

/// A pinned requirement, or an argument whose package cannot be known from the text (a
/// shell variable, a local path or archive, a substitution).
fn is_pinned_or_unknown(tool: &str, word: &str) -> bool {
    let unknown = word.contains('$')
        || word.contains('`')
        || word.starts_with('.')
        || word.starts_with('/')
        || word.ends_with(".deb")
        || word.ends_with(".whl")
        || word.ends_with(".tar.gz")
        || word.ends_with(".zip")
        || word.ends_with(".apk")
        || word.contains("://")
        || word.contains('*')
        || word.starts_with('>')
        || word.starts_with('<')
        || word.starts_with(')');
    let pinned = match tool {
        "pip" => word.contains("==") || word.contains(" @ ") || word.contains('@'),
        // `pkg=1.2`, `pkg~1.2`, `pkg>=1.2` pin or constrain in apk; apt takes `pkg=1.2`
        // and `pkg/release`.
        "apk" => {
            word.contains('=') || word.contains('~') || word.contains('<') || word.contains('>')
        }
        _ => word.contains('='),
    };
    unknown || pinned
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_downloads_piped_into_shells() {
        assert!(
            curl_pipe_shell("RUN /bin/sh -c curl -fsSL https://x.sh | sh # buildkit").is_some()
        );
        assert!(
            curl_pipe_shell("/bin/sh -c apt-get update && wget -qO- https://get.x | sudo bash -s")
                .is_some()
        );
        assert!(curl_pipe_shell("curl -sL https://x | /bin/bash").is_some());
        // A checksum pipe and a download to a file are not.
        assert!(
            curl_pipe_shell(
                r#"wget -O python.tar.xz "$URL"; echo "$SHA *python.tar.xz" | sha256sum -c -"#
            )
            .is_none()
        );
        assert!(curl_pipe_shell("curl -o x.sh https://x; sh x.sh").is_none());
        assert!(curl_pipe_shell("cat a | sh").is_none());
    }

    #[test]
    fn finds_add_from_url_without_checksum() {
        assert_eq!(
            add_from_url("ADD https://example.com/model.bin /models/ # buildkit").as_deref(),
            Some("https://example.com/model.bin")
        );
        assert!(add_from_url("ADD --checksum=sha256:abc https://e.com/m /m # buildkit").is_none());
        assert!(add_from_url("ADD file:0123abcd in / ").is_none());
        assert!(add_from_url("/bin/sh -c #(nop) ADD file:0123 in /").is_none());
        assert!(add_from_url("COPY https://x /y").is_none());
    }

    #[test]
    fn finds_unpinned_installs_and_accepts_pins() {
        let found = |text: &str| -> Vec<String> {
            unpinned_installs(text)
                .into_iter()
                .map(|(tool, p)| format!("{tool}:{p}"))
                .collect()
        };
        assert_eq!(
            found(
                "apt-get update && apt-get install -y --no-install-recommends ca-certificates netbase tzdata=2024a-0"
            ),
            ["apt-get:ca-certificates", "apt-get:netbase"]
        );
        assert_eq!(
            found(
                "pip install --no-cache-dir -r requirements.txt torch==2.3.0 transformers 'numpy<2'"
            ),
            ["pip:transformers", "pip:numpy<2"]
        );
        assert_eq!(found("python3 -m pip install --upgrade pip"), ["pip:pip"]);
        assert!(found("pip install --require-hashes -r req.txt x").is_empty());
        assert!(found("pip install ./dist/pkg-1.0-py3-none-any.whl .").is_empty());
        assert_eq!(
            found("apk add --no-cache --virtual .build-deps gcc musl-dev=1.2.5-r0"),
            ["apk:gcc"]
        );
        assert!(found("apt-get install -y $buildDeps").is_empty());
        assert!(found("apt-get purge -y --auto-remove curl").is_empty());
        assert!(found("echo install things").is_empty());
        assert_eq!(found("apt-get -y install curl"), ["apt-get:curl"]);
    }

    use rampart_core::Limits;
    use serde_json::{Value, json};

    use crate::test_support::{Item, Spec, archive, oci_layout, tar};

    fn config_findings(run_config: Value, history: Vec<Value>) -> Vec<Finding> {
        let mut spec = Spec::new(vec![tar(&[Item::File("etc/hostname", b"x")])]);
        spec.run_config = Some(run_config);
        spec.history = Some(history);
        let image = Image::from_archive_bytes(
            archive(&oci_layout(&spec)),
            "image.tar",
            None,
            &Limits::default(),
        )
        .expect("opens");
        let mut out = Vec::new();
        image.check_config(&mut out);
        out
    }

    fn ids(findings: &[Finding]) -> Vec<&'static str> {
        findings.iter().map(|f| f.rule.id).collect()
    }

    /// Modelled on the config of `python:3.12-slim` (bookworm), history included.
    fn python_slim_history() -> Vec<Value> {
        vec![
            json!({"created_by": "# debian.sh --arch 'amd64' out/ 'bookworm' '@1736726400'", "comment": "debuerreotype 0.15"}),
            json!({"created_by": "ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "empty_layer": true}),
            json!({"created_by": "ENV LANG=C.UTF-8", "empty_layer": true}),
            json!({"created_by": "RUN /bin/sh -c set -eux; \tapt-get update; \tapt-get install -y --no-install-recommends \t\tca-certificates \t\tnetbase \t\ttzdata \t; \trm -rf /var/lib/apt/lists/* # buildkit"}),
            json!({"created_by": "ENV GPG_KEY=7169605F62C751356D054A26A821E680E5FA6305", "empty_layer": true}),
            json!({"created_by": "ENV PYTHON_VERSION=3.12.8", "empty_layer": true}),
            json!({"created_by": "ENV PYTHON_SHA256=c909157bb25ec114e5869124cc2a9c4a4d4c1e957ca4ff553f1edc692101154e", "empty_layer": true}),
            json!({"created_by": "RUN /bin/sh -c set -eux; \t\tsavedAptMark=\"$(apt-mark showmanual)\"; \tapt-get update; \tapt-get install -y --no-install-recommends \t\tdpkg-dev \t\tgcc \t\tgnupg \t\tlibbluetooth-dev \t\tlibbz2-dev \t\tlibc6-dev \t\tlibdb-dev \t\tlibffi-dev \t\tlibgdbm-dev \t\tliblzma-dev \t\tlibncursesw5-dev \t\tlibreadline-dev \t\tlibsqlite3-dev \t\tlibssl-dev \t\tmake \t\ttk-dev \t\tuuid-dev \t\twget \t\txz-utils \t\tzlib1g-dev \t; \t\twget -O python.tar.xz \"https://www.python.org/ftp/python/${PYTHON_VERSION%%[a-z]*}/Python-$PYTHON_VERSION.tar.xz\"; \techo \"$PYTHON_SHA256 *python.tar.xz\" | sha256sum -c -; \twget -O python.tar.xz.asc \"https://www.python.org/ftp/python/${PYTHON_VERSION%%[a-z]*}/Python-$PYTHON_VERSION.tar.xz.asc\"; \tGNUPGHOME=\"$(mktemp -d)\"; export GNUPGHOME; \tgpg --batch --keyserver hkps://keys.openpgp.org --recv-keys \"$GPG_KEY\"; \tgpg --batch --verify python.tar.xz.asc python.tar.xz; \tgpgconf --kill all; \trm -rf \"$GNUPGHOME\" python.tar.xz.asc; \tmkdir -p /usr/src/python; \ttar --extract --directory /usr/src/python --strip-components=1 --file python.tar.xz; \trm python.tar.xz; \t\tcd /usr/src/python; \tgnuArch=\"$(dpkg-architecture --query DEB_BUILD_GNU_TYPE)\"; \t./configure \t\t--build=\"$gnuArch\" \t\t--enable-loadable-sqlite-extensions \t\t--enable-optimizations \t\t--enable-option-checking=fatal \t\t--enable-shared \t\t--with-lto \t\t--with-ensurepip \t; \tnproc=\"$(nproc)\"; \tmake -j \"$nproc\"; \tmake install; \t\tapt-mark auto '.*' > /dev/null; \tapt-mark manual $savedAptMark; \tfind /usr/local -type f -executable -not \\( -name '*tkinter*' \\) -exec ldd '{}' ';' \t\t| awk '/=>/ { so = $(NF-1); if (index(so, \"/usr/local/\") == 1) { next }; gsub(\"^/(usr/)?\", \"\", so); printf \"*%s\\n\", so }' \t\t| sort -u \t\t| xargs -r dpkg-query --search \t\t| cut -d: -f1 \t\t| sort -u \t\t| xargs -r apt-mark manual \t; \tapt-get purge -y --auto-remove -o APT::AutoRemove::RecommendsImportant=false; \trm -rf /var/lib/apt/lists/*; \t\tpython3 --version; \tpip3 --version # buildkit"}),
            json!({"created_by": "RUN /bin/sh -c set -eux; \tfor src in idle3 pip3 pydoc3 python3 python3-config; do \t\tdst=\"$(echo \"$src\" | tr -d 3)\"; \t\t[ -s \"/usr/local/bin/$src\" ]; \t\t[ ! -e \"/usr/local/bin/$dst\" ]; \t\tln -svT \"$src\" \"/usr/local/bin/$dst\"; \tdone # buildkit"}),
            json!({"created_by": "CMD [\"python3\"]", "empty_layer": true}),
        ]
    }

    #[test]
    fn python_slim_config_raises_only_root_and_low_unpinned_apt() {
        let findings = config_findings(
            json!({
                "Env": [
                    "PATH=/usr/local/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "LANG=C.UTF-8",
                    "GPG_KEY=7169605F62C751356D054A26A821E680E5FA6305",
                    "PYTHON_VERSION=3.12.8",
                    "PYTHON_SHA256=c909157bb25ec114e5869124cc2a9c4a4d4c1e957ca4ff553f1edc692101154e",
                ],
                "Cmd": ["python3"],
            }),
            python_slim_history(),
        );
        let mut found = ids(&findings);
        found.sort_unstable();
        assert_eq!(
            found,
            [
                "image/runs-as-root",
                "image/unpinned-package-install",
                "image/unpinned-package-install",
            ],
            "{findings:#?}"
        );
        assert!(
            findings.iter().all(|f| f.severity <= Severity::Medium),
            "{findings:#?}"
        );
    }

    #[test]
    fn reports_config_secrets_root_downloads_ports_and_volumes() {
        let findings = config_findings(
            json!({
                "User": "0:0",
                "Env": ["PATH=/usr/bin", concat!("AWS_ACCESS_KEY_ID=AKIA", "Z7VRSQ5TLHX4MNQW"),
                        concat!("AWS_SECRET_ACCESS_KEY=q8Vd2kR7pLm3Xn9Tz4", "Bw6Yc1Hf5Js0Ga8Ue2Wi7O")],
                "ExposedPorts": {"8080/tcp": {}, "22/tcp": {}, "2375/tcp": {}},
                "Volumes": {"/models": {}},
            }),
            vec![
                json!({"created_by": concat!("ENV AWS_ACCESS_KEY_ID=AKIA", "Z7VRSQ5TLHX4MNQW"), "empty_layer": true}),
                json!({"created_by": "RUN /bin/sh -c curl -fsSL https://get.example.sh | sh # buildkit"}),
                json!({"created_by": "ADD https://example.com/model.safetensors /models/ # buildkit"}),
            ],
        );
        let found = ids(&findings);
        for wanted in [
            "image/runs-as-root",
            "image/curl-pipe-shell",
            "image/add-from-url",
            "image/notable-port",
            "image/declared-volume",
        ] {
            assert!(found.contains(&wanted), "{wanted} missing: {found:?}");
        }
        let secrets: Vec<&Finding> = findings
            .iter()
            .filter(|f| f.rule.scanner == "secret")
            .collect();
        assert!(!secrets.is_empty(), "{found:?}");
        assert!(
            secrets.iter().all(|f| f
                .location
                .resource
                .as_deref()
                .is_some_and(|r| r.starts_with("Env["))),
            "the ENV history step repeats the Env secret and is not reported twice: {secrets:#?}"
        );
        assert!(
            secrets
                .iter()
                .all(|f| !f.message.contains(concat!("AKIA", "Z7VRSQ5TLHX4MNQW")))
        );
        let ports: Vec<Severity> = findings
            .iter()
            .filter(|f| f.rule.id == "image/notable-port")
            .map(|f| f.severity)
            .collect();
        assert_eq!(ports.len(), 2, "8080 is ordinary");
        assert!(
            ports.contains(&Severity::Medium),
            "2375 is the plain Docker API"
        );
        let root = findings
            .iter()
            .find(|f| f.rule.id == "image/runs-as-root")
            .expect("root");
        assert!(
            root.location
                .to_string()
                .starts_with("image.tar!/config (sha256:"),
            "{}",
            root.location
        );
    }

    #[test]
    fn non_root_image_without_history_is_clean() {
        let findings = config_findings(
            json!({"User": "10001", "Env": ["PATH=/usr/bin", "HF_HOME=/cache"], "ExposedPorts": {"8000/tcp": {}}}),
            vec![json!({"created_by": "COPY model /model # buildkit"})],
        );
        assert!(findings.is_empty(), "{findings:#?}");
    }

    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn arbitrary_build_steps_never_panic(
            words in proptest::collection::vec(
                "curl|wget|sh|\\||&&|;|apt-get|apk|add|install|pip|-r|--virtual|ADD|https://x|x=1|\\PC{0,6}",
                0..16,
            ),
        ) {
            let command = words.join(" ");
            let mut out = Vec::new();
            check_build_step(&command, &Location::file("c"), &mut out);
            prop_assert!(out.len() <= 3);
        }
    }
}
