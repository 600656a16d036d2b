"""CLI start-up: `monitor --help` and `monitor check` against `python -c pass`, in the same run.

Each round runs the three commands one after another (interleaved, so drift in the machine's
speed hits all three alike); the figure per command is the median of the rounds' wall times, and
the ratio is taken against the bare interpreter's median. The CPU time (user + sys) of each run
is shown too: on a machine busy with other work it moves less than the wall time does. `check`
validates the documented example config. Target (issue 10): both under 4x `python -c pass`.
Run: python bench/startup.py [rounds]
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MONITOR = [sys.executable, "-m", "monitor.cli"]
# An installed CLI runs from cached bytecode (pip compiles it): let the warm-up round write it
# even where the environment says not to, or every run would time compiling monitor/.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "monitor --help": [*MONITOR, "--help"],
    "monitor check": [*MONITOR, "-c", str(ROOT / "monitor.example.yaml"), "check"],
}


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(argv: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one run of `argv`."""
    cpu = children_cpu()
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, cwd=ROOT, env=ENV)
    return time.perf_counter() - start, children_cpu() - cpu


def main(rounds: int = 3) -> None:
    for argv in COMMANDS.values():  # warm the OS file cache and .pyc files, not counted
        run(argv)
    walls: dict[str, list[float]] = {name: [] for name in COMMANDS}
    cpus: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(rounds):
        for name, argv in COMMANDS.items():
            wall, cpu = run(argv)
            walls[name].append(wall)
            cpus[name].append(cpu)
    base_wall = statistics.median(walls["python -c pass"])
    base_cpu = statistics.median(cpus["python -c pass"])
    print(f"median of {rounds} interleaved rounds")
    for name in COMMANDS:
        wall, cpu = statistics.median(walls[name]), statistics.median(cpus[name])
        print(
            f"{name:16} wall {wall * 1000:7.1f} ms  ratio {wall / base_wall:5.2f}x   "
            f"cpu {cpu * 1000:7.1f} ms  ratio {cpu / base_cpu:5.2f}x"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
