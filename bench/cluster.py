"""Several daemons on one PostgreSQL: poll throughput, leader failover, PostgreSQL vs SQLite ingest.

1. Polls per minute of 1, 2 and 3 `monitor run` processes sharing one PostgreSQL database, 200
   brands on a loopback hn.algolia.com that answers each request after `--latency` seconds (a
   real API is not instant, and a daemon's ten scheduler threads wait on it). Every source is due
   every 5 s, so the demand (2,400 polls a minute) is more than one daemon serves. Counted from
   the daemons' `poll_ok` log lines over a window after warm-up.
   Configurations interleaved, median of `--rounds`; the baseline is one daemon in the same run.
2. Failover: two daemons, kill -9 of the leader, time until the standby logs `leader_elected`
   and until it finishes its first detection pass, against the target of 2 x detect interval
   (default detect interval, 60 s). Median of `--rounds` kills.
3. Ingest rate: Store.save_poll of 20,000 scored mentions in polls of 200 on PostgreSQL and on
   SQLite, interleaved, median of `--rounds`; SQLite is the baseline.

PostgreSQL is started by this script (Debian's initdb/pg_ctl, as in the tests).
Run: python bench/cluster.py [--rounds 3] [--window 30]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.demo_script import ScriptedMention, hit  # noqa: E402
from monitor.models import Mention, Score, Scored  # noqa: E402
from monitor.store import Store  # noqa: E402
from tests.helpers import DaemonProcess, RecordingSource  # noqa: E402
from tests.postgres_server import PostgresServer, find_binaries  # noqa: E402

BRANDS = [f"Brand{i:03d}" for i in range(200)]


def config_text(source_url: str, detect_every: str, every: str = "5s") -> str:
    lines = [
        "database: ${DATABASE_URL}",
        "log_level: INFO",
        "brands:",
        *(f"  - {{name: {b}, terms: [{b.lower()}], channels: [hackernews]}}" for b in BRANDS),
        "channels:",
        f"  hackernews: {{base_url: '{source_url}', every: {every}, backfill: 1d}}",
        f"alerting: {{detect_every: {detect_every}}}",
        "teams:\n  cx: {console: {}}\nroutes:\n  - {team: cx}",
    ]
    return "\n".join(lines) + "\n"


def source_hits(now: datetime) -> list[dict[str, object]]:
    return [
        hit(
            ScriptedMention(
                10 * i + j, "someone", f"{b.lower()} is fine", -timedelta(hours=j + 1), 1
            ),
            now,
        )
        for i, b in enumerate(BRANDS)
        for j in range(3)
    ]


def polls_per_minute(
    server: PostgresServer,
    workdir: Path,
    daemons: int,
    latency: float,
    warmup: float,
    window: float,
) -> float:
    url = server.url(server.fresh_database(server.template))
    source = RecordingSource(source_hits(datetime.now(UTC)), delay=latency)
    config = workdir / f"poll{daemons}.yaml"
    config.write_text(config_text(source.url, "60s"))
    running = [DaemonProcess(config, env={"DATABASE_URL": url}) for _ in range(daemons)]
    try:
        for daemon in running:
            daemon.wait_for("daemon_start", timeout=300)  # 200 brands: a scorer each
        time.sleep(warmup)  # the first backfill of every source
        for daemon in running:
            polls(daemon)
        time.sleep(window)
        done = sum(polls(daemon) for daemon in running)
    finally:
        for daemon in running:
            daemon.stop()
        source.close()
    most = max(source.most_at_once.values(), default=0)
    assert most == 1, f"{daemons} daemon(s): at most {most} request(s) at once for a source"
    return done / window * 60


def polls(daemon: DaemonProcess) -> int:
    """The polls the daemon logged since the last call."""
    count = 0
    while not daemon.lines.empty():
        count += "poll_ok" in daemon.lines.get()
    return count


def failover(server: PostgresServer, workdir: Path) -> tuple[float, float]:
    """Seconds from kill -9 of the leader to the standby's election and to its first detection."""
    url = server.url(server.fresh_database(server.template))
    source = RecordingSource(source_hits(datetime.now(UTC))[:30])
    config = workdir / "failover.yaml"
    config.write_text(config_text(source.url, "60s", every="60s"))
    leader = DaemonProcess(config, env={"DATABASE_URL": url})
    standby = None
    try:
        leader.wait_for("daemon_role", "role=leader")
        standby = DaemonProcess(config, env={"DATABASE_URL": url})
        standby.wait_for("daemon_role", "role=standby")
        # Its scheduler running: a standby elected before that simply starts as the leader.
        standby.wait_for("daemon_start")
        killed = time.monotonic()
        leader.kill()
        standby.wait_for("leader_elected", timeout=300)
        elected = time.monotonic() - killed
        standby.wait_for("leader_resumed", timeout=300)
        detected = time.monotonic() - killed
    finally:
        leader.proc.kill()
        if standby is not None:
            standby.stop()
        source.close()
    return elected, detected


def scored(n: int, now: datetime) -> list[Scored]:
    out = []
    for i in range(n):
        m = Mention(
            "hackernews",
            str(i),
            f"https://e.example/{i}",
            f"a{i % 97}",
            f"acme {i}",
            now - timedelta(seconds=i),
        )
        out.append(Scored(m, "Acme", Score(-0.5, 0.0, 0.5, 0.5, "negative"), ("t",)))
    return out


def ingest_rate(database: str, mentions: list[Scored], piece: int, now: datetime) -> float:
    with Store(database) as store:
        started = time.perf_counter()
        for i in range(0, len(mentions), piece):
            store.save_poll("Acme", "hackernews", mentions[i : i + piece], str(i), 0, now)
        return len(mentions) / (time.perf_counter() - started)


def interleaved(rounds: int, runs: dict[str, Callable[[], float]]) -> dict[str, float]:
    figures: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            figures[name].append(run())
    return {name: statistics.median(values) for name, values in figures.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--window", type=float, default=20.0, help="seconds counted per run")
    # A daemon starts its 200 poll jobs 0.2 s apart: all run after 40 s.
    parser.add_argument("--warmup", type=float, default=45.0)
    parser.add_argument("--latency", type=float, default=0.5, help="source answer time, s")
    parser.add_argument(
        "--skip-polls", action="store_true", help="only failover and ingest (steps 2 and 3)"
    )
    args = parser.parse_args()
    bindir = find_binaries()
    if bindir is None:
        sys.exit("PostgreSQL's initdb and pg_ctl are not installed (apt-get install postgresql)")
    server = PostgresServer(bindir)
    server.start()
    try:
        server.template = server.fresh_database()
        Store(server.url(server.template)).close()
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            print(
                f"1. polls per minute, {len(BRANDS)} brands due every 5 s (demand 2400/min), "
                f"source latency {args.latency}s, {args.window:.0f}s window, median of {args.rounds}"
            )
            polls = (
                {}
                if args.skip_polls
                else interleaved(
                    args.rounds,
                    {
                        f"{n} daemon(s)": (
                            lambda n=n: polls_per_minute(
                                server, workdir, n, args.latency, args.warmup, args.window
                            )
                        )
                        for n in (1, 2, 3)
                    },
                )
            )
            for name, rate in polls.items():
                base = polls["1 daemon(s)"]
                print(f"   {name:<12} {rate:8.0f} polls/min   x{rate / base:.2f} vs one daemon")

            print(
                f"2. failover after kill -9 of the leader (detect every 60 s; target < 120 s), median of {args.rounds}"
            )
            kills = [failover(server, workdir) for _ in range(args.rounds)]
            elected = statistics.median(k[0] for k in kills)
            detected = statistics.median(k[1] for k in kills)
            print(
                f"   standby elected after {elected:.1f}s, first detection done after {detected:.1f}s"
                f"   ({detected / 120:.2f} of the target)"
            )

            now = datetime.now(UTC)
            mentions = scored(20_000, now)
            counter = iter(range(10**6))
            rates = interleaved(
                args.rounds,
                {
                    "sqlite": lambda: ingest_rate(
                        str(workdir / f"i{next(counter)}.db"), mentions, 200, now
                    ),
                    "postgresql": lambda: ingest_rate(
                        server.url(server.fresh_database(server.template)), mentions, 200, now
                    ),
                },
            )
            print(f"3. ingest, {len(mentions)} mentions in polls of 200, median of {args.rounds}")
            for name, rate in rates.items():
                print(
                    f"   {name:<11} {rate:8.0f} mentions/s   x{rate / rates['sqlite']:.2f} vs SQLite"
                )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
