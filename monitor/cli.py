"""The `monitor` command: a thin click layer; every command calls one library function."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from monitor.config import Config, ConfigError, default_config_path, load_config
from monitor.models import utcnow
from monitor.store import Store
from monitor.validate import parse_duration


def setup_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s", stream=sys.stderr
    )
    # httpx logs every request URL at INFO, and some APIs take their key in the query string.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class Context:
    def __init__(self, config_path: Path) -> None:
        self.config_path = config_path

    def config(self) -> Config:
        try:
            return load_config(self.config_path)
        except ConfigError as exc:
            click.echo(str(exc), err=True)
            sys.exit(1)

    def store(self, config: Config) -> Store:
        return Store(config.database)


@click.group()
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
    ctx.obj = Context(config_path or default_config_path())


pass_ctx = click.make_pass_decorator(Context)


@main.command()
@pass_ctx
def check(ctx: Context) -> None:
    """Validate the config; exit 1 listing every problem."""
    config = ctx.config()
    jobs = sum(len(b.channels) for b in config.brands)
    click.echo(
        f"{config.path}: OK ({len(config.brands)} brands, {jobs} poll jobs, "
        f"{len(config.teams)} teams, {len(config.routes)} routes)"
    )


@main.command()
@pass_ctx
def run(ctx: Context) -> None:
    """Run the daemon until SIGTERM or Ctrl-C."""
    from monitor.daemon import AlreadyRunning, Daemon

    config = ctx.config()
    setup_logging(config.log_level)
    with ctx.store(config) as store:
        try:
            Daemon(config, store).run()
        except AlreadyRunning as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)


@main.command()
@click.option(
    "--once", is_flag=True, required=True, help="Poll every (brand, channel) once and exit."
)
@pass_ctx
def poll(ctx: Context, once: bool) -> None:
    """Poll every (brand, channel) once."""
    from monitor.poller import Poller
    from monitor.report import table

    config = ctx.config()
    setup_logging("WARNING")
    with ctx.store(config) as store:
        poller = Poller(config, store)
        try:
            reports = poller.poll_all()
        finally:
            poller.close()
    click.echo(
        table(
            ["brand", "channel", "fetched", "matched", "new", "skipped", "error"],
            [
                (r.brand, r.channel, r.fetched, r.matched, r.stored, r.skipped, r.error or "-")
                for r in reports
            ],
        )
    )
    if any(r.error for r in reports):
        sys.exit(2)


@main.command()
@pass_ctx
def status(ctx: Context) -> None:
    """Per (brand, channel): last poll, last error, mentions stored, cursor; pending/dead alerts."""
    from monitor.report import outbox_summary, status_table

    config = ctx.config()
    with ctx.store(config) as store:
        click.echo(status_table(store.poll_states()))
        problems = store.messages("dead", limit=10) + [
            m for m in store.messages("pending", limit=50) if m.last_error
        ]
        click.echo("\n" + outbox_summary(store.outbox_counts(), problems))


@main.command()
@click.option("--brand")
@click.option("--channel")
@click.option("--since", help="Only mentions newer than this, e.g. 7d or 12h.")
@click.option("--label", type=click.Choice(["negative", "neutral", "positive"]))
@click.option("--limit", type=int, default=None)
@click.option("--format", "fmt", type=click.Choice(["table", "jsonl", "csv"]), default="table")
@pass_ctx
def mentions(
    ctx: Context,
    brand: str | None,
    channel: str | None,
    since: str | None,
    label: str | None,
    limit: int | None,
    fmt: str,
) -> None:
    """Export stored mentions."""
    from monitor.report import export_mentions

    try:
        start = utcnow() - parse_duration(since) if since else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    config = ctx.config()
    with ctx.store(config) as store:
        rows = store.mentions(brand=brand, channel=channel, since=start, label=label, limit=limit)
    click.echo(export_mentions(rows, fmt))


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
    setup_logging(config.log_level)
    with ctx.store(config) as store:
        outbox = outbox_for(config, store)
        changes = Detector(config, store, outbox.enqueue_alerts).run_once()
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
    if team not in config.teams:
        raise click.BadParameter(
            f"no team {team!r}; teams: {', '.join(sorted(config.teams)) or 'none'}"
        )
    with ctx.store(config) as store:
        results = send_test_alert(config, store, team)
    for receiver, error in results:
        click.echo(f"{receiver}: {'OK' if error is None else 'FAILED: ' + error}")
    if any(error for _, error in results):
        sys.exit(1)


@main.command()
@click.option(
    "--since", default="30d", show_default=True, help="Also list incidents resolved since."
)
@pass_ctx
def incidents(ctx: Context, since: str) -> None:
    """Open and recent incidents."""
    from monitor.report import incidents_table

    config = ctx.config()
    now = utcnow()
    with ctx.store(config) as store:
        click.echo(incidents_table(store.incidents(since=now - parse_duration(since)), now))


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
    from monitor.notify.preview import preview_digest
    from monitor.outbox import send_digest_now

    config = ctx.config()
    if team not in config.teams:
        raise click.BadParameter(
            f"no team {team!r}; teams: {', '.join(sorted(config.teams)) or 'none'}"
        )
    if bool(preview_dir) == send:
        raise click.UsageError("give exactly one of --preview DIR or --send")
    try:
        week = week or default_week(config, team, utcnow())
        parse_week(week)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--week") from None
    with ctx.store(config) as store:
        if preview_dir:
            for path in preview_digest(config, store, team, week, preview_dir, now=utcnow()):
                click.echo(f"wrote {path}")
            return
        results = send_digest_now(config, store, team, week)
    for receiver, error in results:
        click.echo(f"{receiver}: {'sent' if error is None else 'FAILED: ' + error}")
    if any(error for _, error in results):
        sys.exit(1)


@main.command()
@click.option("--keep", is_flag=True, help="Keep the demo database for `monitor mentions`.")
def demo(keep: bool) -> None:
    """Offline demo: a scripted week of mentions served on loopback, through the real pipeline."""
    from monitor.demo import run_demo

    sys.exit(run_demo(keep=keep, echo=click.echo))


if __name__ == "__main__":
    main()
