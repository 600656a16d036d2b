"""Log lines: key=value quoting, escaping a stranger's text, JSON lines, APScheduler's run lines."""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger

from monitor.logs import kv, setup_logging

log = logging.getLogger("monitor.test")


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    """Where setup_logging writes; the global logging state is put back afterwards."""
    root = logging.getLogger()
    names = ("httpx", "httpcore", "apscheduler.executors")
    saved = (list(root.handlers), root.level, {n: logging.getLogger(n).level for n in names})
    yield io.StringIO()
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    for name, level in saved[2].items():
        logging.getLogger(name).setLevel(level)


def lines(stream: io.StringIO) -> list[str]:
    return stream.getvalue().splitlines()


def test_kv_writes_event_then_key_value_pairs() -> None:
    assert kv("poll_ok", brand="Acme", stored=3, ok=True) == "poll_ok brand=Acme stored=3 ok=true"


def test_kv_quotes_values_with_spaces_quotes_or_equals_signs() -> None:
    line = kv("e", brand="Acme Co", said='he said "hi"', query="a=b", empty="", none=None)
    assert line == r'e brand="Acme Co" said="he said \"hi\"" query="a=b" empty="" none=""'


def test_kv_escapes_line_breaks_and_terminal_control_sequences() -> None:
    line = kv("e", text="fine\r\n2026-01-01 ERROR forged\x1b[2J\u2028x")
    assert line == r'e text="fine\r\n2026-01-01 ERROR forged\x1b[2J\u2028x"'


def test_kv_writes_times_as_iso_8601() -> None:
    assert kv("e", at=datetime(2026, 1, 2, 3, 4, tzinfo=UTC)) == "e at=2026-01-02T03:04:00+00:00"


def test_text_line_has_utc_time_level_logger_and_message(stream: io.StringIO) -> None:
    setup_logging("INFO", "text", stream)
    log.info(kv("poll_ok", brand="Acme"))
    (line,) = lines(stream)
    stamp, level, logger, message = line.split(" ", 3)
    assert datetime.fromisoformat(stamp).tzinfo is not None
    assert (level, logger, message) == ("INFO", "monitor.test", "poll_ok brand=Acme")


def test_forged_newline_in_a_percent_formatted_message_stays_one_line(
    stream: io.StringIO,
) -> None:
    setup_logging("INFO", "text", stream)
    log.warning("rss_item author=%s", "bob\n2026-01-01T00:00:00Z ERROR monitor forged")
    assert len(lines(stream)) == 1
    assert lines(stream)[0].endswith(r"author=bob\n2026-01-01T00:00:00Z ERROR monitor forged")


def test_traceback_lines_are_indented_under_their_record(stream: io.StringIO) -> None:
    setup_logging("INFO", "text", stream)
    try:
        raise ValueError("bad\nINFO forged")
    except ValueError:
        log.exception(kv("crashed"))
    first, *rest = lines(stream)
    assert first.endswith("ERROR monitor.test crashed")
    assert rest and all(line.startswith("    ") for line in rest)


def test_json_line_holds_event_and_typed_fields(stream: io.StringIO) -> None:
    setup_logging("INFO", "json", stream)
    log.info(kv("poll_ok", brand="Acme Co", stored=3, text="a\nb"))
    (line,) = lines(stream)
    entry = json.loads(line)
    assert entry.pop("ts").endswith("Z")
    assert entry == {
        "level": "INFO",
        "logger": "monitor.test",
        "event": "poll_ok",
        "brand": "Acme Co",
        "stored": 3,
        "text": "a\nb",
    }


def test_json_line_keeps_a_plain_message_as_message(stream: io.StringIO) -> None:
    setup_logging("INFO", "json", stream)
    log.warning("rate_limited channel=%s", "reddit\u2028forged")
    (line,) = lines(stream)
    assert json.loads(line)["message"] == "rate_limited channel=reddit\u2028forged"


def test_json_field_named_like_a_reserved_key_does_not_overwrite_it(stream: io.StringIO) -> None:
    setup_logging("INFO", "json", stream)
    log.info(kv("e", level="spoofed"))
    entry = json.loads(lines(stream)[0])
    assert (entry["level"], entry["field_level"]) == ("INFO", "spoofed")


def test_json_carries_the_traceback_in_one_line(stream: io.StringIO) -> None:
    setup_logging("INFO", "json", stream)
    try:
        raise KeyError("x")
    except KeyError:
        log.exception(kv("crashed"))
    (line,) = lines(stream)
    assert "KeyError" in json.loads(line)["exc"]


def test_setup_twice_replaces_its_own_handler(stream: io.StringIO) -> None:
    setup_logging("INFO", "text", stream)
    setup_logging("INFO", "json", stream)
    log.info(kv("once"))
    assert len(lines(stream)) == 1


def test_unknown_level_or_format_is_an_error_listing_the_choices() -> None:
    with pytest.raises(ValueError, match="'VERBOSE' is not one of DEBUG, INFO, WARNING, ERROR"):
        setup_logging("VERBOSE")
    with pytest.raises(ValueError, match="'xml' is not one of text, json"):
        setup_logging("INFO", "xml")  # type: ignore[arg-type]


def test_httpx_request_lines_are_dropped_at_info(stream: io.StringIO) -> None:
    setup_logging("INFO", "text", stream)
    logging.getLogger("httpx").info("HTTP Request: GET https://api.example/?key=secret")
    assert lines(stream) == []


def run_one_job(func: object, event_mask: int) -> None:
    """Run `func` once on a real BackgroundScheduler and return when its run has finished."""
    done = threading.Event()

    def finished(event: JobExecutionEvent) -> None:
        done.set()

    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_listener(finished, event_mask)
    scheduler.start()
    try:
        scheduler.add_job(func, DateTrigger(datetime.now(UTC)), id="probe", name="probe")
        assert done.wait(10), "the job did not run"
    finally:
        scheduler.shutdown(wait=True)


def test_apscheduler_run_lines_are_dropped_at_info(stream: io.StringIO) -> None:
    setup_logging("INFO", "text", stream)
    run_one_job(lambda: log.info(kv("job_ran")), EVENT_JOB_EXECUTED)
    text = stream.getvalue()
    assert "job_ran" in text
    assert "Running job" not in text
    assert "executed successfully" not in text
    assert "Scheduler started" in text  # apscheduler.scheduler's once-per-start lines stay


def test_apscheduler_job_errors_stay_at_info(stream: io.StringIO) -> None:
    def fails() -> None:
        raise RuntimeError("job broke")

    setup_logging("INFO", "text", stream)
    run_one_job(fails, EVENT_JOB_ERROR)
    assert 'ERROR apscheduler.executors.default Job "probe' in stream.getvalue()


def test_apscheduler_missed_run_warning_stays_at_info(stream: io.StringIO) -> None:
    setup_logging("INFO", "text", stream)
    logging.getLogger("apscheduler.executors.default").warning('Run time of job "x" was missed')
    assert "was missed" in stream.getvalue()


def test_apscheduler_run_lines_are_kept_at_debug(stream: io.StringIO) -> None:
    setup_logging("DEBUG", "text", stream)
    run_one_job(lambda: None, EVENT_JOB_EXECUTED)
    assert "Running job" in stream.getvalue()
    assert "executed successfully" in stream.getvalue()


def test_terminal_escape_in_a_message_is_shown_not_obeyed(stream: io.StringIO) -> None:
    setup_logging("INFO", "text", stream)
    log.info("author=%s", "\x1b]0;pwned\x07\x1b[2J")
    assert lines(stream)[0].endswith(r"author=\x1b]0;pwned\x07\x1b[2J")
