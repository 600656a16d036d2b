"""What only the PostgreSQL backend has: placeholder translation, errors that name the server
but never the password, connections lost and replaced, transactions cut mid-way, NUMERIC sums,
the dedicated connection for advisory locks, SKIP LOCKED."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import psycopg
import pytest

from monitor.models import Mention, Score, Scored
from monitor.store import MIGRATIONS, Store, StoreError
from monitor.store.postgres import to_pyformat
from tests.postgres_server import PostgresServer

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def scored(native_id: str, text: str = "acme is down", label: str = "negative") -> Scored:
    mention = Mention(
        "hackernews", native_id, "https://e.example/", "bob", text, NOW - timedelta(minutes=1)
    )
    return Scored(mention, "Acme", Score(-0.5, 0.0, 0.5, 0.5, label))  # type: ignore[arg-type]


@pytest.fixture
def url(postgres_server: PostgresServer) -> Iterator[str]:
    name = postgres_server.fresh_database(postgres_server.template)
    yield postgres_server.url(name)
    postgres_server.drop_database(name)


def cut_connections(server: PostgresServer, url: str) -> int:
    """Terminate every server process serving `url`'s database, as a restart or a network cut
    would; how many there were."""
    database = urlsplit(url).path.lstrip("/")
    with psycopg.connect(server.url(), autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
            (database,),
        ).fetchall()
    return len(rows)


def cut(server: PostgresServer, url: str) -> None:
    assert cut_connections(server, url) >= 1


def test_placeholders_become_psycopg_ones_outside_quotes_only() -> None:
    assert to_pyformat("SELECT * FROM t WHERE a = ? AND b = :b") == (
        "SELECT * FROM t WHERE a = %s AND b = %(b)s"
    )
    assert to_pyformat("SELECT '?', ':x', 'it''s ?' WHERE a = ?") == (
        "SELECT '?', ':x', 'it''s ?' WHERE a = %s"
    )
    assert to_pyformat("SELECT a % 2, '5%', x::text FROM t") == (
        "SELECT a %% 2, '5%%', x::text FROM t"
    )


def test_a_fresh_database_is_migrated_to_the_latest_schema(postgres_server: PostgresServer) -> None:
    name = postgres_server.fresh_database()
    with Store(postgres_server.url(name)) as store:
        assert (store.dialect, store.schema_version) == ("postgresql", len(MIGRATIONS))
        assert store.query("SELECT version FROM schema_version") == [{"version": len(MIGRATIONS)}]
    postgres_server.drop_database(name)


def test_a_database_from_a_newer_monitor_is_refused(url: str) -> None:
    with Store(url) as store:
        store.conn.execute("UPDATE schema_version SET version = 999")
    with pytest.raises(StoreError, match="newer than this monitor"):
        Store(url)


def test_a_server_that_refuses_connections_is_named_without_the_password() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, not listening: connections are refused
        with pytest.raises(StoreError) as caught:
            Store(f"postgresql://monitor:hunter2-secret@127.0.0.1:{port}/monitor")
    message = str(caught.value)
    assert message.startswith(f"cannot connect to postgresql://monitor@127.0.0.1:{port}/monitor: ")
    assert "hunter2" not in message
    assert "check that the server is running" in message


def test_a_missing_database_is_named_with_the_fix(
    postgres_server: PostgresServer,
) -> None:
    with pytest.raises(StoreError) as caught:
        Store(f"postgresql://monitor:pw-9f3e@127.0.0.1:{postgres_server.port}/no_such_db")
    message = str(caught.value)
    assert message.startswith(
        f"cannot connect to postgresql://monitor@127.0.0.1:{postgres_server.port}/no_such_db"
    )
    assert "pw-9f3e" not in message
    assert "set `database:` in the config" in message


def test_a_user_who_may_not_create_tables_is_told_the_grant(
    postgres_server: PostgresServer,
) -> None:
    name = postgres_server.fresh_database()
    postgres_server.admin("CREATE ROLE visitor LOGIN")
    try:
        url = postgres_server.url(name).replace("monitor_test@", "visitor@")
        with pytest.raises(StoreError) as caught:
            Store(url)
    finally:
        postgres_server.drop_database(name)
        postgres_server.admin("DROP ROLE visitor")
    message = str(caught.value)
    assert message.startswith("cannot create monitor's tables in postgresql://visitor@")
    assert "GRANT CREATE ON SCHEMA public" in message


def test_the_store_carries_on_after_its_connections_are_cut(
    url: str, postgres_server: PostgresServer
) -> None:
    with Store(url) as store:
        store.save_poll("Acme", "hackernews", [scored("1")], "c1", 0, NOW)
        assert cut_connections(postgres_server, url) >= 1
        store.save_poll("Acme", "hackernews", [scored("2")], "c2", 0, NOW)
        assert sorted(m.native_id for m in store.mentions()) == ["1", "2"]


def test_the_store_carries_on_after_the_server_restarts(
    url: str, postgres_server: PostgresServer
) -> None:
    with Store(url) as store:
        store.save_poll("Acme", "hackernews", [scored("1")], "c1", 0, NOW)
        postgres_server.restart()
        store.save_poll("Acme", "hackernews", [scored("2")], "c2", 0, NOW)
        assert sorted(m.native_id for m in store.iter_mentions()) == ["1", "2"]


def test_a_transaction_cut_mid_way_applies_nothing(
    url: str, postgres_server: PostgresServer
) -> None:
    with Store(url) as store:
        store.save_poll("Acme", "hackernews", [scored("1")], "c1", 0, NOW)
        with pytest.raises(psycopg.OperationalError):
            store.save_poll(
                "Acme",
                "hackernews",
                [scored("2"), scored("3")],
                "c2",
                0,
                NOW,
                before_commit=lambda: cut(postgres_server, url),
            )
        assert [m.native_id for m in store.mentions()] == ["1"]
        assert store.get_cursor("Acme", "hackernews") == "c1"
        assert store.negative_minutes("Acme", "brand", "Acme", NOW - timedelta(hours=1), NOW)[
            1
        ] == [1.0]


def test_sums_of_big_integers_come_back_as_ints_like_sqlites(url: str) -> None:
    with Store(url) as store:
        store.save_poll("Acme", "hackernews", [scored("1"), scored("2")], "c", 0, NOW)
        [row] = store.query("SELECT sum(n) AS total, avg(n) AS mean FROM negative_minutes")
        assert (row["total"], type(row["total"])) == (4, int)
        assert (row["mean"], type(row["mean"])) == (2.0, float)


def test_a_dedicated_connection_holds_an_advisory_lock_the_pool_cannot_take(url: str) -> None:
    with Store(url) as store:
        assert store.postgres is not None
        with store.postgres.dedicated() as holder:
            assert holder.execute("SELECT pg_try_advisory_lock(17)").fetchone() == (True,)
            taken = store.query("SELECT pg_try_advisory_lock(17) AS got")
            assert taken == [{"got": False}]


def test_skip_locked_leaves_a_row_another_transaction_holds(url: str) -> None:
    with Store(url) as store:
        for key in ("a", "b"):
            with store.transaction():
                store.enqueue(key, None, "t", "slack", "alert", "{}", NOW)
        with store.transaction() as conn, store.postgres.dedicated() as other:  # type: ignore[union-attr]
            mine = conn.execute(
                "SELECT key FROM outbox ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED"
            ).fetchall()
            theirs = other.execute(
                "SELECT key FROM outbox ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED"
            ).fetchall()
        assert (mine, theirs) == ([("a",)], [("b",)])
