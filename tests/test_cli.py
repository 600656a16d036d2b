"""`monitor poll --once`, `status` and `mentions` end to end against a loopback Algolia server."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor.cli import main
from monitor.demo import algolia_search
from tests.helpers import real_hn_hits


@pytest.fixture
def hn_config(httpserver: HTTPServer, write_config: Callable[[str], Path]) -> Path:
    def handler(request: Request) -> Response:
        params = {k: request.args.getlist(k) for k in request.args}
        return Response(
            json.dumps(algolia_search(real_hn_hits(), params, float("inf"))),
            content_type="application/json",
        )

    httpserver.expect_request("/api/v1/search_by_date").respond_with_handler(handler)
    return write_config(
        "brands:\n  - name: Apple\n    terms: [apple]\n    channels: [hackernews]\n"
        "    topics: {legal: [judge, settlement]}\n"
        f"channels:\n  hackernews: {{base_url: '{httpserver.url_for('')}', backfill: 9000d}}\n"
    )


def run(config: Path, *args: str) -> str:
    result = CliRunner().invoke(main, ["-c", str(config), *args])
    assert result.exit_code == 0, result.output
    return result.stdout  # log lines go to stderr


def apple_hits() -> set[str]:
    return {
        h["objectID"]
        for h in real_hn_hits()
        if "apple" in (h.get("comment_text") or h.get("title") or "").lower()
    }


def test_poll_once_stores_every_matching_hit_once_and_a_rerun_stores_nothing(
    hn_config: Path,
) -> None:
    first = run(hn_config, "poll", "--once")
    assert f"Apple  hackernews  {len(apple_hits())}" in first
    second = run(hn_config, "poll", "--once")
    assert second.splitlines()[2].split()[4] == "0"
    exported = [
        json.loads(line) for line in run(hn_config, "mentions", "--format", "jsonl").splitlines()
    ]
    assert {m["native_id"] for m in exported} == apple_hits()


def test_mentions_jsonl_rows_carry_the_documented_fields(hn_config: Path) -> None:
    run(hn_config, "poll", "--once")
    row = json.loads(run(hn_config, "mentions", "--format", "jsonl").splitlines()[0])
    for key in (
        "channel",
        "native_id",
        "brand",
        "url",
        "author",
        "text",
        "created_at",
        "compound",
        "label",
        "topics",
    ):
        assert key in row
    assert row["created_at"].endswith("Z")


def test_mentions_filters_by_label_and_topic_tags_are_exported(hn_config: Path) -> None:
    run(hn_config, "poll", "--once")
    rows = [json.loads(x) for x in run(hn_config, "mentions", "--format", "jsonl").splitlines()]
    judge = next(r for r in rows if r["native_id"] == "7919424")
    assert judge["topics"] == ["legal"]
    negative = run(hn_config, "mentions", "--label", "negative", "--format", "jsonl").splitlines()
    assert all(json.loads(x)["label"] == "negative" for x in negative)


def test_mentions_csv_has_a_header_and_one_row_per_mention(hn_config: Path) -> None:
    run(hn_config, "poll", "--once")
    lines = run(hn_config, "mentions", "--format", "csv").splitlines()
    assert lines[0].startswith("channel,native_id,brand,url")


def test_status_shows_last_poll_count_and_cursor(hn_config: Path) -> None:
    run(hn_config, "poll", "--once")
    out = run(hn_config, "status")
    assert "Apple" in out and "hackernews" in out and '{"after":' in out


def test_poll_failure_shows_in_status_and_exits_3(
    httpserver: HTTPServer, write_config: Callable[[str], Path]
) -> None:
    httpserver.expect_request("/api/v1/search_by_date").respond_with_data("nope", status=404)
    config = write_config(
        "brands:\n  - name: Apple\n    terms: [apple]\n"
        f"channels:\n  hackernews: {{base_url: '{httpserver.url_for('')}'}}\n"
    )
    result = CliRunner().invoke(main, ["-c", str(config), "poll", "--once"])
    assert result.exit_code == 3
    status = CliRunner().invoke(main, ["-c", str(config), "status"])
    assert "HTTP 404" in status.output


ALERTING = (
    "brands:\n  - name: Apple\n    terms: [apple]\n    channels: [hackernews]\n"
    "teams:\n  cx: {console: {}}\nroutes:\n  - {team: cx}\n"
)


def test_test_alert_reports_each_receiver(write_config: Callable[[str], Path]) -> None:
    config = write_config(ALERTING)
    result = CliRunner().invoke(main, ["-c", str(config), "test-alert", "cx"])
    assert result.exit_code == 0, result.output
    assert "console: OK" in result.output


def test_test_alert_reports_the_receivers_error(
    httpserver: HTTPServer, write_config: Callable[[str], Path]
) -> None:
    httpserver.expect_request("/hook").respond_with_data("no_service", status=404)
    hook = httpserver.url_for("/hook")
    config = write_config(
        ALERTING.replace("{console: {}}", f"{{slack: {{webhook_url: '{hook}'}}}}")
    )
    result = CliRunner().invoke(main, ["-c", str(config), "test-alert", "cx"])
    assert result.exit_code == 3
    assert "slack: FAILED" in result.output
    assert hook not in result.output


def test_test_alert_for_an_unknown_team_lists_the_teams(
    write_config: Callable[[str], Path],
) -> None:
    result = CliRunner().invoke(main, ["-c", str(write_config(ALERTING)), "test-alert", "nobody"])
    assert result.exit_code == 2
    assert "the teams are cx" in result.output


def test_detect_once_and_incidents_on_a_quiet_store(write_config: Callable[[str], Path]) -> None:
    config = write_config(ALERTING)
    assert "delivered 0, retrying 0, dead 0" in run(config, "detect", "--once")
    assert run(config, "incidents").strip() == "no incidents"


def test_digest_preview_of_an_empty_week_writes_no_blank_chart(
    write_config: Callable[[str], Path], tmp_path: Path
) -> None:
    config = write_config(ALERTING)
    out = run(
        config, "digest", "--team", "cx", "--week", "2026-W47", "--preview", str(tmp_path / "p")
    )
    files = sorted(p.name for p in (tmp_path / "p").iterdir())
    assert files == ["digest.html", "digest.txt", "slack.json"]
    assert "No mentions this week" in (tmp_path / "p" / "digest.txt").read_text()
    assert "digest.html" in out


def test_digest_send_delivers_through_the_teams_receivers(
    write_config: Callable[[str], Path],
) -> None:
    config = write_config(ALERTING)
    assert "console: sent" in run(config, "digest", "--team", "cx", "--send")


def test_digest_rejects_a_malformed_week(
    write_config: Callable[[str], Path], tmp_path: Path
) -> None:
    config = write_config(ALERTING)
    result = CliRunner().invoke(
        main,
        ["-c", str(config), "digest", "--team", "cx", "--week", "47", "--preview", str(tmp_path)],
    )
    assert result.exit_code == 2 and "2026-W47" in result.output


def one_line_error(config: Path, *args: str) -> str:
    """Run a command that must fail with exit 1 and one line on stderr, no traceback."""
    result = CliRunner().invoke(main, ["-c", str(config), *args])
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    return result.stderr


def test_database_path_that_is_a_directory_names_the_problem_and_the_fix(
    write_config: Callable[[str], Path], tmp_path: Path
) -> None:
    (tmp_path / "data").mkdir()
    error = one_line_error(write_config(ALERTING + "database: data\n"), "status")
    assert "is a directory" in error and "set `database:` in the config to a file" in error


def test_database_under_a_path_that_is_a_file_names_the_problem_and_the_fix(
    write_config: Callable[[str], Path], tmp_path: Path
) -> None:
    (tmp_path / "data").write_text("x")
    error = one_line_error(write_config(ALERTING + "database: data/m.db\n"), "status")
    assert f"{tmp_path / 'data'} is a file" in error and "set `database:`" in error


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into any directory")
def test_database_under_an_unwritable_directory_names_the_problem_and_the_fix(
    write_config: Callable[[str], Path], tmp_path: Path
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    error = one_line_error(write_config(ALERTING + "database: locked/sub/m.db\n"), "status")
    assert "is not writable" in error and "fix its permissions" in error


def test_database_that_is_not_sqlite_names_the_problem_and_the_fix(
    write_config: Callable[[str], Path], tmp_path: Path
) -> None:
    (tmp_path / "notes.txt").write_text("shopping list: milk, eggs, flour, butter, sugar\n" * 20)
    error = one_line_error(write_config(ALERTING + "database: notes.txt\n"), "incidents")
    assert "is not an SQLite database" in error and "point `database:` at" in error


def test_run_on_an_unusable_database_is_one_line_too(
    write_config: Callable[[str], Path], tmp_path: Path
) -> None:
    (tmp_path / "data").mkdir()
    assert "is a directory" in one_line_error(write_config(ALERTING + "database: data\n"), "run")


def test_config_that_is_not_utf8_is_one_line_naming_the_line(tmp_path: Path) -> None:
    config = tmp_path / "monitor.yaml"
    config.write_bytes(b"brands:\n  - {name: Caf\xe9, terms: [cafe]}\n")
    error = one_line_error(config, "check")
    assert "line 2: not UTF-8" in error and "Fix: save the file as UTF-8" in error


def test_incidents_since_that_is_not_a_duration_is_a_usage_error(
    write_config: Callable[[str], Path],
) -> None:
    result = CliRunner().invoke(
        main, ["-c", str(write_config(ALERTING)), "incidents", "--since", "lots"]
    )
    assert result.exit_code == 2
    assert "Invalid value for '--since': 'lots' is not a duration" in result.stderr


def test_config_option_is_accepted_after_the_command(write_config: Callable[[str], Path]) -> None:
    config = write_config(ALERTING)
    result = CliRunner().invoke(main, ["check", "-c", str(config)])
    assert result.exit_code == 0, result.output
    assert f"{config}: OK" in result.output


def test_config_option_after_the_command_wins_over_the_one_before(
    write_config: Callable[[str], Path],
) -> None:
    before = write_config(ALERTING, name="before.yaml")
    after = write_config(ALERTING, name="after.yaml")
    result = CliRunner().invoke(main, ["-c", str(before), "check", "--config", str(after)])
    assert result.exit_code == 0, result.output
    assert f"{after}: OK" in result.output
