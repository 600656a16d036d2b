"""CLI start-up: `monitor --help` and `monitor check` against `python -c pass`, in the same run.

Each round runs the three commands one after another (interleaved, so drift in the machine's
speed hits all three alike); the figure per command is the median of the rounds' wall times, and
the ratio is taken against the bare interpreter's median. `check` validates the documented
example config. Target (issue 10): both under 4x `python -c pass`.
Run: python bench/startup.py [rounds]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MONITOR = [sys.executable, "-m", "monitor.cli"]
COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "monitor --help": [*MONITOR, "--help"],
    "monitor check": [*MONITOR, "-c", str(ROOT / "monitor.example.yaml"), "check"],
}


def wall(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    return time.perf_counter() - start


def main(rounds: int = 3) -> None:
    for argv in COMMANDS.values():  # warm the OS file cache and .pyc files, not counted
        wall(argv)
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(rounds):
        for name, argv in COMMANDS.items():
            times[name].append(wall(argv))
    base = statistics.median(times["python -c pass"])
    for name, runs in times.items():
        median = statistics.median(runs)
        print(f"{name:16} median {median * 1000:7.1f} ms  ratio {median / base:5.2f}x")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
