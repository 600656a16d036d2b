"""`monitor silence|ack|resolve|outbox`: what an operator does by hand. Thin: each command
parses its options and calls one function of monitor.operator."""

from __future__ import annotations

import json
from datetime import timedelta

import click

from monitor.cli_base import DURATION, Context, fail, pass_ctx


@click.group()
def silence() -> None:
    """Silence a brand (or one topic or channel of it) for a while."""


@silence.command("add")
@click.option("--brand", required=True)
@click.option("--scope", help="topic:NAME or channel:NAME. Default: the whole brand.")
@click.option("--for", "duration", type=DURATION, required=True, help="e.g. 2h or 3d.")
@click.option("--reason", default="", help="Why, for whoever reads `silence list`.")
@pass_ctx
def silence_add(
    ctx: Context, brand: str, scope: str | None, duration: timedelta, reason: str
) -> None:
    """Add a silence; prints its id."""
    from monitor.models import utcnow
    from monitor.operator import OperatorError, add_silence

    config = ctx.config()
    with ctx.store(config) as store:
        try:
            silence_id = add_silence(config, store, brand, scope, duration, reason, utcnow())
        except OperatorError as exc:
            raise click.UsageError(str(exc)) from None
    click.echo(silence_id)


@silence.command("list")
@click.option("--json", "as_json", is_flag=True, help="JSON instead of a table.")
@click.option("--all", "show_all", is_flag=True, help="Also silences that have ended.")
@pass_ctx
def silence_list(ctx: Context, as_json: bool, show_all: bool) -> None:
    """Silences in force (or all of them)."""
    from monitor.models import utcnow
    from monitor.report import silence_record, silences_table

    now = utcnow()
    config = ctx.config()
    with ctx.store(config) as store:
        silences = store.silences(active_at=None if show_all else now)
    if as_json:
        click.echo(json.dumps([silence_record(s, now) for s in silences], indent=2))
    else:
        click.echo(silences_table(silences, now))


@silence.command("expire")
@click.argument("silence_id", type=int)
@pass_ctx
def silence_expire(ctx: Context, silence_id: int) -> None:
    """End a silence now; notices it held for still-open incidents go at the next detect."""
    from monitor.models import utcnow
    from monitor.operator import OperatorError, expire_silence

    config = ctx.config()
    with ctx.store(config) as store:
        try:
            expire_silence(store, silence_id, utcnow())
        except OperatorError as exc:
            fail(str(exc))
    click.echo(f"silence #{silence_id} expired")


@click.command()
@click.argument("incident_id", type=int)
@pass_ctx
def ack(ctx: Context, incident_id: int) -> None:
    """Acknowledge an open incident: no more reminders (an escalation to critical still pages)."""
    from monitor.models import utcnow
    from monitor.operator import OperatorError
    from monitor.operator import ack as acknowledge

    config = ctx.config()
    with ctx.store(config) as store:
        try:
            incident = acknowledge(store, incident_id, utcnow())
        except OperatorError as exc:
            fail(str(exc))
    click.echo(f"incident #{incident.id} acknowledged: no more reminders")


@click.command()
@click.argument("incident_id", type=int)
@pass_ctx
def resolve(ctx: Context, incident_id: int) -> None:
    """Resolve an open incident by hand and send its resolve notice now."""
    from monitor.models import utcnow
    from monitor.operator import OperatorError
    from monitor.operator import resolve as resolve_incident
    from monitor.outbox import outbox_for

    config = ctx.config()
    with ctx.store(config) as store:
        outbox = outbox_for(config, store)
        try:
            resolve_incident(config, store, outbox, incident_id, utcnow())
        except OperatorError as exc:
            fail(str(exc))
        report = outbox.deliver_once()
    click.echo(
        f"incident #{incident_id} resolved; delivered {report.sent}, "
        f"retrying {report.retrying}, dead {report.dead}"
    )
    if report.dead:
        fail("a resolve notice could not be delivered; see `monitor outbox list --dead`")


@click.group()
def outbox() -> None:
    """Queued, dead and sent messages: list them, retry the dead, drop one."""


@outbox.command("list")
@click.option("--dead", is_flag=True, help="Only dead messages.")
@click.option("--json", "as_json", is_flag=True, help="JSON instead of a table.")
@click.option("--limit", type=int, default=50, show_default=True)
@pass_ctx
def outbox_list(ctx: Context, dead: bool, as_json: bool, limit: int) -> None:
    """Messages, newest first."""
    from monitor.report import message_record, messages_table

    config = ctx.config()
    with ctx.store(config) as store:
        messages = store.messages("dead" if dead else None, limit=limit)
    if as_json:
        click.echo(json.dumps([message_record(m) for m in messages], indent=2))
    else:
        click.echo(messages_table(messages))


@outbox.command("retry")
@click.argument("message_id", type=int, required=False)
@click.option("--all-dead", is_flag=True, help="Retry every dead message.")
@pass_ctx
def outbox_retry(ctx: Context, message_id: int | None, all_dead: bool) -> None:
    """Make a dead message (or all of them) due again, with fresh attempts, and deliver."""
    from monitor.models import utcnow
    from monitor.operator import OperatorError, retry
    from monitor.outbox import outbox_for

    if (message_id is None) == (not all_dead):
        raise click.UsageError("give a message ID or --all-dead (not both)")
    ids = None if message_id is None else [message_id]
    config = ctx.config()
    with ctx.store(config) as store:
        try:
            count = retry(store, ids, utcnow())
        except OperatorError as exc:
            fail(str(exc))
        report = outbox_for(config, store).deliver_once()
    click.echo(
        f"{count} message(s) due again; delivered {report.sent}, "
        f"retrying {report.retrying}, dead {report.dead}"
    )
    if report.dead:
        fail("some messages failed again; see `monitor outbox list --dead`")


@outbox.command("drop")
@click.argument("message_id", type=int)
@pass_ctx
def outbox_drop(ctx: Context, message_id: int) -> None:
    """Delete an unsent message for good."""
    from monitor.operator import OperatorError, drop

    config = ctx.config()
    with ctx.store(config) as store:
        try:
            drop(store, message_id)
        except OperatorError as exc:
            fail(str(exc))
    click.echo(f"message #{message_id} dropped")


COMMANDS = (silence, ack, resolve, outbox)
