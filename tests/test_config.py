"""Config loading: each kind of mistake gives one clear message, exit code 1, no traceback."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import main
from monitor.config import ConfigError, load_config
from monitor.validate import parse_duration

ROOT = Path(__file__).parent.parent
MINIMAL = "brands:\n  - name: Acme\n    terms: [acme]\n"


def check(path: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["-c", str(path), "check"])
    return result.exit_code, result.output


def assert_one_error(path: Path, *fragments: str) -> None:
    code, output = check(path)
    assert code == 1
    assert "Traceback" not in output
    lines = output.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{path}: ")
    for fragment in fragments:
        assert fragment in lines[0]
    assert "Fix:" in lines[0]


def test_example_config_passes_check() -> None:
    code, output = check(ROOT / "monitor.example.yaml")
    assert code == 0, output
    assert "OK" in output


def test_missing_file_is_one_clear_error(tmp_path: Path) -> None:
    assert_one_error(tmp_path / "absent.yaml", "file not found", "MONITOR_CONFIG")


def test_yaml_syntax_error_names_the_line(write_config: Callable[[str], Path]) -> None:
    path = write_config("brands:\n  - name: Acme\n   terms: [acme]\n")
    assert_one_error(path, "YAML syntax error at line 3")


def test_unknown_key_is_an_error_with_a_suggestion(write_config: Callable[[str], Path]) -> None:
    path = write_config(MINIMAL + "    chanels: [hackernews]\n")
    assert_one_error(path, "brands[0].chanels: unknown key", "did you mean 'channels'?")


def test_wrong_type_names_the_field_path(write_config: Callable[[str], Path]) -> None:
    path = write_config("brands:\n  - name: Acme\n    terms: acme\n")
    assert_one_error(path, "brands[0].terms: expected a list", "['acme']")


def test_missing_env_var_is_named(
    write_config: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MONITOR_TEST_DB", raising=False)
    path = write_config("database: ${MONITOR_TEST_DB}\n" + MINIMAL)
    assert_one_error(path, "database: environment variable MONITOR_TEST_DB is not set")


def test_bad_duration_says_how_to_write_one(write_config: Callable[[str], Path]) -> None:
    path = write_config(MINIMAL + "channels:\n  hackernews: {every: 5 minutes}\n")
    assert_one_error(path, "channels.hackernews.every", "30s, 5m, 1h, 14d")


def test_unknown_channel_lists_the_known_ones(write_config: Callable[[str], Path]) -> None:
    path = write_config(MINIMAL + "channels:\n  hackernewz: {}\n")
    assert_one_error(path, "channels.hackernewz: unknown channel", "hackernews")


def test_env_vars_are_expanded(write_config: Callable[[str], Path], tmp_path: Path) -> None:
    path = write_config("database: ${DB_DIR}/m.db\n" + MINIMAL)
    config = load_config(path, environ={"DB_DIR": str(tmp_path / "state")})
    assert config.database == tmp_path / "state" / "m.db"


def test_secrets_are_hidden_in_repr(write_config: Callable[[str], Path]) -> None:
    path = write_config(
        MINIMAL + "teams:\n  t: {slack: {webhook_url: '${HOOK}'}}\nroutes:\n  - {team: t}\n"
    )
    config = load_config(path, environ={"HOOK": "https://hooks.slack.com/services/T/B/s3cr3t"})
    assert "s3cr3t" not in repr(config)
    assert config.teams["t"].slack.webhook_url.reveal().endswith("s3cr3t")  # type: ignore[union-attr]


def test_durations_accept_the_documented_units() -> None:
    assert parse_duration("30s") == timedelta(seconds=30)
    assert parse_duration("5m") == timedelta(minutes=5)
    assert parse_duration("1h") == timedelta(hours=1)
    assert parse_duration("14d") == timedelta(days=14)


def test_relative_database_path_is_relative_to_the_config_file(
    write_config: Callable[[str], Path],
) -> None:
    path = write_config(MINIMAL)
    assert load_config(path).database == path.parent / "monitor.db"


def test_brand_channel_not_configured_gets_its_defaults(
    write_config: Callable[[str], Path],
) -> None:
    config = load_config(write_config(MINIMAL + "    channels: [hackernews]\n"))
    assert config.channels["hackernews"].every == timedelta(minutes=5)


def test_no_teams_and_no_routes_is_valid_collect_only(write_config: Callable[[str], Path]) -> None:
    config = load_config(write_config(MINIMAL))
    assert config.teams == {} and config.routes == ()


def test_route_naming_an_unknown_team_is_rejected(write_config: Callable[[str], Path]) -> None:
    path = write_config(MINIMAL + "teams:\n  t: {console: {}}\nroutes:\n  - {team: nobody}\n")
    assert_one_error(path, "routes[0].team: unknown team 'nobody'")


def test_routes_without_a_final_default_are_rejected(write_config: Callable[[str], Path]) -> None:
    path = write_config(
        MINIMAL
        + "teams:\n  t: {console: {}}\nroutes:\n  - {match: {severity: critical}, team: t}\n"
    )
    assert_one_error(path, "no final default route")


def test_every_problem_is_reported_at_once(write_config: Callable[[str], Path]) -> None:
    path = write_config(
        "brands:\n  - name: Acme\n    terms: acme\nchannels:\n  hackernews: {evry: 5m}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert len(caught.value.errors) == 2


def test_route_matching_an_unknown_channel_or_topic_is_rejected(
    write_config: Callable[[str], Path],
) -> None:
    path = write_config(
        MINIMAL
        + "    spike: {scopes: [channel]}\n"
        + "teams:\n  t: {console: {}}\nroutes:\n  - {match: {channel: app_store}, team: t}\n  - {team: t}\n"
    )
    assert_one_error(path, "routes[0].match.channel: no channel named 'app_store'", "appstore")


TWO_APPS = """\
brands:
  - name: Acme
    terms: [acme]
    channels: [appstore]
    channel_settings: {appstore: {apps: ["111"]}}
  - name: Globex
    terms: [globex]
    channels: [appstore]
    channel_settings: {appstore: {apps: ["222"], countries: [gb]}}
channels:
  appstore: {countries: [us], every: 1h}
"""


def test_a_brand_can_lay_its_own_channel_settings_over_the_shared_block(
    write_config: Callable[[str], Path],
) -> None:
    config = load_config(write_config(TWO_APPS))
    acme, globex = config.polls["Acme", "appstore"], config.polls["Globex", "appstore"]
    assert (acme.apps, acme.countries, acme.every) == (("111",), ("us",), timedelta(hours=1))  # type: ignore[attr-defined]
    assert (globex.apps, globex.countries) == (("222",), ("gb",))  # type: ignore[attr-defined]


def test_channel_settings_for_a_channel_the_brand_does_not_poll_is_rejected(
    write_config: Callable[[str], Path],
) -> None:
    path = write_config(MINIMAL + "    channel_settings: {rss: {feeds: ['https://e.example/f']}}\n")
    assert_one_error(path, "brands[0].channel_settings.rss", "not among this brand's channels")


def test_a_typo_in_brand_channel_settings_names_its_path(
    write_config: Callable[[str], Path],
) -> None:
    path = write_config(TWO_APPS.replace('apps: ["222"]', 'appps: ["222"]'))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.errors[0].startswith(
        "brands[1].channel_settings.appstore.appps: unknown key"
    )
    assert "did you mean 'apps'?" in caught.value.errors[0]


def test_route_by_channel_without_any_brand_detecting_per_channel_is_rejected(
    write_config: Callable[[str], Path],
) -> None:
    path = write_config(
        MINIMAL
        + "    channels: [hackernews, rss]\n"
        + "teams:\n  t: {console: {}}\nroutes:\n  - {match: {channel: rss}, team: t}\n  - {team: t}\n"
    )
    assert_one_error(
        path, "routes[0].match.channel: no brand detects per-channel incidents", "scopes"
    )


def test_log_format_must_be_text_or_json(write_config: Callable[[str], Path]) -> None:
    with pytest.raises(ConfigError, match="log_format"):
        load_config(write_config(MINIMAL + "log_format: xml\n"))
    assert load_config(write_config(MINIMAL + "log_format: json\n")).log_format == "json"


def test_metrics_are_off_by_default_and_a_bad_listen_names_the_form(
    write_config: Callable[[str], Path],
) -> None:
    assert load_config(write_config(MINIMAL)).metrics.listen is None
    with pytest.raises(ConfigError, match=r"metrics\.listen: '9464' is not host:port"):
        load_config(write_config(MINIMAL + "metrics: {listen: '9464'}\n"))


def test_check_json_lists_every_error(write_config: Callable[[str], Path]) -> None:
    path = write_config("brands:\n  - {name: A, terms: [a], chanels: [rss]}\nlog_format: xml\n")
    result = CliRunner().invoke(main, ["check", "--json", "-c", str(path)])
    report = json.loads(result.stdout)
    assert result.exit_code == 1
    assert report["ok"] is False and len(report["errors"]) == 2
