"""The `monitor` command: a thin click layer; every command calls one library function."""

from __future__ import annotations

import json
import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from monitor.cli_base import (
    DURATION,
    EXIT_DEGRADED,
    EXIT_FAILED,
    Context,
    pass_ctx,
    pick_name,
)
from monitor.cli_db import COMMANDS as DB_COMMANDS
from monitor.cli_ops import COMMANDS as OPS_COMMANDS

# Everything else is imported inside the command that needs it, to keep start-up fast: `--help`
# and `check` must not pay for httpx, sqlite-utils, feedparser, VADER or matplotlib.
if TYPE_CHECKING:
    from monitor.config import Config


def setup_logging(config: Config, level: str | None = None) -> None:
    from monitor.logs import setup_logging as configure

    configure(level or config.log_level, config.log_format)


@click.group(
    epilog="Exit codes: 0 success (status: healthy); 1 config or database unusable, check "
    "found problems, or status degraded; 2 usage error; 3 the operation failed."
)
@click.option(
    "-c",
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Config file. Default: $MONITOR_CONFIG, then ./monitor.yaml.",
)
@click.version_option(package_name="monitor")
@click.pass_context
def main(ctx: click.Context, config_path: Path | None) -> None:
    """Watch what people say about your brands and alert the right team on negative spikes."""
    ctx.obj = Context(config_path)


def _config_after_command(ctx: click.Context, param: click.Parameter, value: Path | None) -> None:
    if value is not None:
        ctx.ensure_object(Context).config_path = value


@main.command()
@click.option("--json", "as_json", is_flag=True, help='{"ok": ..., "errors": [...]} on stdout.')
@pass_ctx
def check(ctx: Context, as_json: bool) -> None:
    """Validate the config; exit 1 listing every problem."""
    from monitor.config import ConfigError, default_config_path, load_config

    path = ctx.config_path or default_config_path()
    if not as_json:
        config = ctx.config()
    else:
        try:
            config = load_config(path)
        except ConfigError as exc:
            click.echo(json.dumps({"path": str(path), "ok": False, "errors": exc.errors}, indent=2))
            sys.exit(1)
    jobs = sum(len(b.channels) for b in config.brands)
    if as_json:
        summary = {"brands": len(config.brands), "poll_jobs": jobs, "teams": len(config.teams)}
        click.echo(json.dumps({"path": str(path), "ok": True, "errors": [], **summary}, indent=2))
        return
    click.echo(
        f"{config.path}: OK ({len(config.brands)} brands, {jobs} poll jobs, "
        f"{len(config.teams)} teams, {len(config.routes)} routes)"
    )
    blind = [
        f"{n} ({', '.join(t.uneditable())})" for n, t in config.teams.items() if t.uneditable()
    ]
    if blind:
        click.echo(
            "note: an incident's growth edits its page, which only a Slack bot (slack.token) "
            f"can do; nothing is sent for it to: {'; '.join(blind)}"
        )


@main.command()
@pass_ctx
def run(ctx: Context) -> None:
    """Run the daemon until SIGTERM or Ctrl-C."""
    from monitor.addresses import MetricsConfigError
    from monitor.daemon import AlreadyRunning, Daemon

    config = ctx.config()
    setup_logging(config)
    with ctx.store(config) as store:
        try:
            finished = Daemon(config, store).run()
        except (AlreadyRunning, MetricsConfigError) as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        if not finished:
            # A job thread stuck in I/O cannot be stopped, and a normal interpreter exit would
            # join it forever; its unfinished transaction is rolled back by SQLite.
            import logging  # loaded by now: the daemon logs

            logging.shutdown()
            os._exit(0)


@main.command()
@click.option("--once", is_flag=True, help="Poll every (brand, channel) once and exit.")
@pass_ctx
def poll(ctx: Context, once: bool) -> None:
    """Poll every (brand, channel) once (--once); `monitor run` polls on a schedule."""
    from monitor.poller import Poller, poll_once
    from monitor.report import table

    if not once:
        raise click.UsageError(
            "`monitor poll` polls once and exits, so it needs --once; "
            "to poll on a schedule, run the daemon: `monitor run`"
        )
    config = ctx.config()
    setup_logging(config, "WARNING")
    with ctx.store(config) as store:
        poller = Poller(config, store)
        try:
            run = poll_once(poller)
        finally:
            poller.close()
    reports = run.reports
    click.echo(
        table(
            ["brand", "channel", "fetched", "matched", "new", "skipped", "error"],
            [
                (r.brand, r.channel, r.fetched, r.matched, r.stored, r.skipped, r.error or "-")
                for r in reports
            ],
        )
    )
    for b in run.busy:
        who = f"daemon {b.holder}" if b.holder else "a daemon"
        click.echo(f"{b.brand} on {b.channel}: not polled, {who} is polling it")
    if any(r.error for r in reports):
        sys.exit(EXIT_FAILED)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object (see README).")
@pass_ctx
def status(ctx: Context, as_json: bool) -> None:
    """Daemon liveness, each source, the outbox; exit 0 healthy, 1 degraded."""
    from monitor.health import daemon_line, health_of, members_lines, to_json
    from monitor.lock import lock_held
    from monitor.models import utcnow
    from monitor.report import outbox_summary, status_table

    config = ctx.config()
    now = utcnow()
    with ctx.store(config) as store:
        # A shared database has no lock file: its daemons beat in the store instead.
        shared = store.dialect != "sqlite"
        health = health_of(config, store, now, None if shared else lock_held(config.database))
        if as_json:
            click.echo(json.dumps(to_json(health, now), indent=2))
        else:
            click.echo(daemon_line(health.daemon, now))
            if health.members:
                click.echo("daemons:\n" + "\n".join(members_lines(health.members, now)))
            click.echo()
            click.echo(status_table(store.poll_states()))
            problems = store.messages("dead", limit=10) + [
                m for m in store.messages("pending", limit=50) if m.last_error
            ]
            click.echo("\n" + outbox_summary(store.outbox_counts(), problems))
            click.echo(
                f"incidents open: {health.incidents_open}, "
                f"silences active: {health.silences_active}"
            )
            click.echo("\nhealth: " + ("ok" if health.healthy else "DEGRADED"))
            for reason in health.reasons:
                click.echo(f"  - {reason}")
    if not health.healthy:
        sys.exit(EXIT_DEGRADED)


@main.command()
@click.option("--brand")
@click.option("--channel")
@click.option("--since", type=DURATION, help="Only mentions newer than this, e.g. 7d or 12h.")
@click.option("--label", type=click.Choice(["negative", "neutral", "positive"]))
@click.option("--limit", type=int, default=None)
@click.option("--format", "fmt", type=click.Choice(["table", "jsonl", "csv"]), default="table")
@pass_ctx
def mentions(
    ctx: Context,
    brand: str | None,
    channel: str | None,
    since: timedelta | None,
    label: str | None,
    limit: int | None,
    fmt: str,
) -> None:
    """Export stored mentions."""
    from monitor.models import utcnow
    from monitor.report import write_mentions

    start = utcnow() - since if since else None
    config = ctx.config()
    brand = pick_name(brand, [b.name for b in config.brands], "--brand")
    with ctx.store(config) as store:
        rows = store.iter_mentions(
            brand=brand, channel=channel, since=start, label=label, limit=limit
        )
        # Written as they are read: a million-row export holds one batch in memory.
        write_mentions(rows, fmt, sys.stdout)


@main.command()
@click.option(
    "--once", is_flag=True, required=True, help="One detection pass and one delivery pass."
)
@pass_ctx
def detect(ctx: Context, once: bool) -> None:
    """Detect negative spikes once and deliver what is due."""
    from monitor.outbox import outbox_for
    from monitor.spikes import Detector

    config = ctx.config()
    setup_logging(config)
    with ctx.store(config) as store:
        outbox = outbox_for(config, store)
        changes = Detector(config, store, outbox.enqueue_alerts).run_once()
        outbox.release_held()  # notices held by silences that have ended since
        report = outbox.deliver_once()
    for change in changes:
        if change.kind:
            click.echo(
                f"incident #{change.incident.id} {change.kind}: {change.incident.brand} "
                f"{change.incident.scope_kind} {change.incident.scope_value}"
            )
    click.echo(f"delivered {report.sent}, retrying {report.retrying}, dead {report.dead}")


@main.command("test-alert")
@click.argument("team")
@pass_ctx
def test_alert(ctx: Context, team: str) -> None:
    """Send a sample alert through TEAM's receivers and report each result."""
    from monitor.outbox import send_test_alert

    config = ctx.config()
    team = pick_name(team, list(config.teams), "team") or team
    with ctx.store(config) as store:
        results = send_test_alert(config, store, team)
    for receiver, error in results:
        click.echo(f"{receiver}: {'OK' if error is None else 'FAILED: ' + error}")
    if any(error for _, error in results):
        sys.exit(EXIT_FAILED)


@main.command()
@click.option(
    "--since",
    type=DURATION,
    default="30d",
    show_default=True,
    help="Also list incidents resolved since.",
)
@click.option("--json", "as_json", is_flag=True, help="A JSON list instead of a table.")
@pass_ctx
def incidents(ctx: Context, since: timedelta, as_json: bool) -> None:
    """Open and recent incidents; `silenced #N` and `acked` show on open ones."""
    from monitor.models import utcnow
    from monitor.report import incident_record, incidents_table

    config = ctx.config()
    now = utcnow()
    with ctx.store(config) as store:
        found = store.incidents(since=now - since)
        silences = store.silences(active_at=now)
    if as_json:
        click.echo(json.dumps([incident_record(i, silences, now) for i in found], indent=2))
    else:
        click.echo(incidents_table(found, now, silences))


@main.command()
@click.option("--team", required=True, help="The team whose digest to build.")
@click.option("--week", help="ISO week, e.g. 2026-W47. Default: the last complete week.")
@click.option(
    "--preview",
    "preview_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Write digest.html, digest.txt, chart.png and slack.json here; send nothing.",
)
@click.option("--send", is_flag=True, help="Send it now through the team's receivers.")
@pass_ctx
def digest(ctx: Context, team: str, week: str | None, preview_dir: Path | None, send: bool) -> None:
    """Preview or send a team's weekly sentiment digest."""
    from monitor.digest import default_week, parse_week
    from monitor.digest.build import coverage_note
    from monitor.models import utcnow
    from monitor.notify.preview import preview_digest
    from monitor.outbox import send_digest_now

    config = ctx.config()
    team = pick_name(team, list(config.teams), "--team") or team
    if bool(preview_dir) == send:
        raise click.UsageError("give exactly one of --preview DIR or --send")
    try:
        week = week or default_week(config, team, utcnow())
        parse_week(week)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--week") from None
    with ctx.store(config) as store:
        if preview_dir:
            note = coverage_note(config, store, team, week)
            if note:
                click.echo(f"note: {note}")
            for path in preview_digest(config, store, team, week, preview_dir, now=utcnow()):
                click.echo(f"wrote {path}")
            return
        results = send_digest_now(config, store, team, week)
    for receiver, error in results:
        click.echo(f"{receiver}: {'sent' if error is None else 'FAILED: ' + error}")
    if any(error for _, error in results):
        sys.exit(EXIT_FAILED)


@main.command()
@click.argument("text")
@click.option("--brand", help="Score with this brand's lexicon, complaint_phrases and thresholds.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of text.")
@pass_ctx
def score(ctx: Context, text: str, brand: str | None, as_json: bool) -> None:
    """Score TEXT and show what moved it: VADER words, complaint rules, brand lexicon entries."""
    # Lazy: VADER's lexicon and the complaint rules load only for this command.
    from monitor.sentiment.explain import explain, render
    from monitor.sentiment.scorer import Scorer

    scorer = Scorer()
    if brand is not None:
        config = ctx.config()
        b = config.brand(pick_name(brand, [b.name for b in config.brands], "--brand") or brand)
        scorer = Scorer(
            lexicon=b.lexicon,
            complaint_phrases=b.complaint_phrases,
            negative=b.negative_below,
            positive=b.positive_above,
            complaints=config.sentiment.complaints,
        )
    result = explain(scorer, text)
    click.echo(result.to_json() if as_json else render(result))


@main.command()
@click.option("--keep", is_flag=True, help="Keep the demo database for `monitor mentions`.")
def demo(keep: bool) -> None:
    """Offline demo: a scripted week of mentions served on loopback, through the real pipeline."""
    from monitor.demo import run_demo

    sys.exit(run_demo(keep=keep, echo=click.echo))


@main.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--brand", help="Brand for rows that do not name one.")
@click.option("--channel", help="Channel for rows that do not name one (default: import).")
@pass_ctx
def import_(ctx: Context, path: Path, brand: str | None, channel: str | None) -> None:
    """Import historical mentions from a .jsonl or .csv file (idempotent)."""
    from monitor.importer import ImportFileError, import_file, terminal_progress

    config = ctx.config()
    progress = terminal_progress(sys.stderr) if sys.stderr.isatty() else None
    with ctx.store(config) as store:
        try:
            report = import_file(
                config, store, path, brand=brand, channel=channel, progress=progress
            )
        except ImportFileError as exc:
            raise click.UsageError(str(exc)) from None
    click.echo(report.summary())


@main.command()
@click.option("--brand", help="Only this brand.")
@click.option(
    "--since", type=DURATION, default="8w", show_default=True, help="How long before --until."
)
@click.option("--until", "until_text", help="End: ISO 8601 time or a duration ago. Default: now.")
@click.option(
    "--set", "overrides", multiple=True, help="Override a setting, e.g. spike.window=30m."
)
@click.option("--format", "fmt", type=click.Choice(["table", "jsonl"]), default="table")
@pass_ctx
def backtest(
    ctx: Context,
    brand: str | None,
    since: timedelta,
    until_text: str | None,
    overrides: tuple[str, ...],
    fmt: str,
) -> None:
    """Replay detection over stored history; print every notification it would have sent."""
    from monitor.backtest import OverrideError, parse_until, run_backtest
    from monitor.models import utcnow

    config = ctx.config()
    with ctx.store(config) as store:
        try:
            until = parse_until(until_text, utcnow())
            run_backtest(
                config,
                store,
                since=since,
                until=until,
                brand=brand,
                overrides=overrides,
                fmt=fmt,
                out=sys.stdout,
            )
        except OverrideError as exc:
            raise click.UsageError(str(exc)) from None


for _ops_command in [*OPS_COMMANDS, *DB_COMMANDS]:
    main.add_command(_ops_command)


def _accept_config_after(command: click.Command) -> None:
    """`-c` is also accepted after the command (`monitor check -c prod.yaml`, `monitor silence
    add ... -c prod.yaml`), where users put it."""
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _accept_config_after(sub)
    command.params.append(
        click.Option(
            ["-c", "--config", "config_path"],
            type=click.Path(path_type=Path),
            expose_value=False,
            callback=_config_after_command,
            help="Config file (may also come before the command).",
        )
    )


for _command in main.commands.values():
    if _command.name != "demo":
        _accept_config_after(_command)

if __name__ == "__main__":
    main()
