"""Waits until a server's process tree is idle: at most 10% of one core over 2 s, or 90 s.

    python3 settle.py PID

MLflow keeps starting background job consumers after /health answers; measuring then would
charge their start-up to the first rows. Prints the seconds waited.
"""

import os
import sys
import time

from rss_sample import descendants

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            continue
    return total / TICKS


def main() -> None:
    root = int(sys.argv[1])
    started = time.monotonic()
    while time.monotonic() - started < 90:
        pids = descendants(root)
        before = cpu_seconds(pids)
        time.sleep(2)
        if cpu_seconds(pids) - before < 0.2:
            break
    print(f"{time.monotonic() - started:.0f}")


if __name__ == "__main__":
    main()
