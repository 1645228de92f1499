"""Samples the resident memory of a server process and all its descendants until SIGTERM.

    python3 rss_sample.py PID OUT

Writes `ready` to OUT after the first sample, then on SIGTERM replaces it with
`idle_mib peak_mib largest_mib`: the tree's summed VmRSS at start, the highest summed
VmRSS seen (every 20 ms), and the highest VmRSS of any one process in the tree. Sampling can
miss a spike shorter than the interval; the single-process peak is the number to compare with
VmHWM from /proc/PID/status.
"""

import os
import signal
import sys
import time


def descendants(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                # the command name may contain spaces: the ppid follows the last ')'
                parents[int(entry)] = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in tree:
                tree.add(pid)
                frontier.append(pid)
    return sorted(tree)


def rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def main() -> None:
    root, out = int(sys.argv[1]), sys.argv[2]
    stop = False

    def on_term(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    pids = descendants(root)
    idle = peak = sum(rss_kib(p) for p in pids)
    largest = 0
    rounds = 0
    with open(out, "w") as ready:
        ready.write("ready\n")
    while not stop:
        rounds += 1
        if rounds % 50 == 0:  # new worker processes are rare; rescan the tree once a second
            pids = descendants(root)
        sizes = [rss_kib(p) for p in pids]
        peak = max(peak, sum(sizes))
        largest = max(largest, *sizes)
        time.sleep(0.02)
    with open(out, "w") as result:
        result.write(f"{idle / 1024:.0f} {peak / 1024:.0f} {largest / 1024:.0f}\n")


if __name__ == "__main__":
    main()
