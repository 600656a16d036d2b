"""`database:` in the config: SQLite paths resolve beside the config; a PostgreSQL URL takes its
password from the environment only, and never shows it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from monitor.config import Config, ConfigError, PostgresDatabase, load_config

BRANDS = "brands:\n  - {name: Acme, terms: [acme], channels: [hackernews]}\n"


def load(
    write_config: Callable[[str], Path], database: str, env: dict[str, str] | None = None
) -> Config:
    return load_config(write_config(f"database: '{database}'\n{BRANDS}"), environ=env or {})


def refusal(write_config: Callable[[str], Path], database: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load(write_config, database)
    return str(caught.value)


def test_a_relative_sqlite_path_resolves_beside_the_config(
    write_config: Callable[[str], Path], tmp_path: Path
) -> None:
    assert load(write_config, "data/m.db").database == tmp_path / "data" / "m.db"
    assert load(write_config, "sqlite:///data/m.db").database == tmp_path / "data" / "m.db"
    assert load(write_config, "sqlite:////srv/m.db").database == Path("/srv/m.db")


def test_a_literal_password_in_the_url_is_refused_naming_file_field_and_fix(
    write_config: Callable[[str], Path], tmp_path: Path
) -> None:
    message = refusal(write_config, "postgresql://monitor:s3cret-pw@db.internal/monitor")
    assert message.startswith(f"{tmp_path / 'monitor.yaml'}: database: ")
    assert "literal password" in message
    assert "${PGPASSWORD}" in message
    assert "s3cret-pw" not in message


def test_a_literal_password_parameter_is_refused_too(
    write_config: Callable[[str], Path],
) -> None:
    message = refusal(write_config, "postgresql://monitor@db.internal/monitor?password=s3cret")
    assert "literal password" in message


def test_a_password_from_the_environment_is_used_and_never_shown(
    write_config: Callable[[str], Path],
) -> None:
    config = load(
        write_config,
        "postgresql://monitor:${PGPASSWORD}@db.internal:5433/monitor",
        {"PGPASSWORD": "s3cret-pw"},
    )
    assert isinstance(config.database, PostgresDatabase)
    assert config.database.reveal_url() == "postgresql://monitor:s3cret-pw@db.internal:5433/monitor"
    assert str(config.database) == "postgresql://monitor@db.internal:5433/monitor"
    assert "s3cret-pw" not in repr(config)


def test_the_whole_url_may_come_from_the_environment(
    write_config: Callable[[str], Path],
) -> None:
    url = "postgresql://monitor:s3cret-pw@db.internal/monitor"
    config = load(write_config, "${DATABASE_URL}", {"DATABASE_URL": url})
    assert isinstance(config.database, PostgresDatabase)
    assert config.database.reveal_url() == url


def test_a_url_without_a_database_name_is_refused(write_config: Callable[[str], Path]) -> None:
    message = refusal(write_config, "postgresql://monitor@db.internal")
    assert "names no database" in message
