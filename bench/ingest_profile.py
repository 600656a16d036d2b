"""Where one 20k-hit `poll --once` of bench/ingest.py spends its time: cProfile, top lines by
cumulative and by own time. Run: python bench/ingest_profile.py [lines]
"""

from __future__ import annotations

import cProfile
import pstats
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest import hits, poll_rate, serve


def main(lines: int = 25) -> None:
    server, url = serve(hits(int(datetime.now(UTC).timestamp())))
    profile = cProfile.Profile()
    with tempfile.TemporaryDirectory() as tmp:
        profile.runcall(poll_rate, url, Path(tmp), 0, sys.maxsize)
    server.terminate()
    stats = pstats.Stats(profile)
    stats.sort_stats("cumulative").print_stats(lines)
    stats.sort_stats("tottime").print_stats(lines)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 25)
