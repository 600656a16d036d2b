"""The plans PostgreSQL caches for the store's trigger functions stay selective.

PL/pgSQL prepares each statement of a function once per session and, after a few runs, keeps a
generic plan: one chosen without the row's values. A lookup whose generic plan reads a whole
channel's mentions and filters the rest made every insert slower than the one before (ingest
fell from 1,959 to 418 mentions/s within 8,000 mentions). auto_explain, raised to NOTICE level,
hands the plans of nested statements to this session, so the test reads the very plan the
trigger runs with, forced generic from its first run.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import psycopg
import pytest

from monitor.store import Store
from tests.postgres_server import PostgresServer

_EXPLAIN_NESTED = (
    "LOAD 'auto_explain'",
    "SET auto_explain.log_min_duration = 0",
    "SET auto_explain.log_nested_statements = on",
    "SET auto_explain.log_level = notice",
    "SET plan_cache_mode = force_generic_plan",
)
_MENTION = (
    "INSERT INTO mentions (brand, channel, native_id, url, author, text, created_at, "
    "fetched_at, compound, pos, neu, neg, label, topics, weight) VALUES "
    "('Acme', 'hackernews', %s, '', '', 'down again', %s, %s, -0.6, 0, 0.4, 0.6, 'negative', "
    "'[\"outage\"]', 1.0)"
)
_TOPIC = "INSERT INTO mention_topics VALUES ('Acme', 'outage', 'hackernews', %s, %s, 'negative')"


@pytest.fixture
def explained(postgres_server: PostgresServer) -> Iterator[tuple[psycopg.Connection, list[str]]]:
    """A session on a fresh migrated database whose statements' plans arrive as notices."""
    name = postgres_server.fresh_database(postgres_server.template)
    plans: list[str] = []
    try:
        with psycopg.connect(postgres_server.url(name), autocommit=True) as conn:
            conn.add_notice_handler(lambda notice: plans.append(notice.message_primary or ""))
            for statement in _EXPLAIN_NESTED:
                conn.execute(statement)  # type: ignore[arg-type]  # literal SQL
            yield conn, plans
    finally:
        postgres_server.drop_database(name)


def _weight_lookup(plans: list[str]) -> str:
    found = [p for p in plans if "SELECT m.weight FROM mentions m" in p]
    assert found, "the topic trigger's weight lookup was not explained"
    return found[-1]


def test_the_topic_triggers_generic_plan_finds_its_mention_by_a_selective_index(
    explained: tuple[psycopg.Connection, list[str]],
) -> None:
    conn, plans = explained
    for n in range(8):  # past the five runs after which a custom plan would turn generic
        conn.execute(_MENTION, (str(n), 1_763_000_000 + n, 1_763_000_000 + n))
        conn.execute(_TOPIC, (str(n), 1_763_000_000 + n))
    plan = _weight_lookup(plans)
    # The index condition pins the mention (its id or its second), not the whole channel.
    assert re.search(r"Index Cond: .*\b(native_id|created_at) = ", plan), plan
    assert "Seq Scan" not in plan, plan


def test_the_topic_trigger_counts_the_mentions_weight_in_the_topics_minute(
    explained: tuple[psycopg.Connection, list[str]],
) -> None:
    conn, _ = explained
    conn.execute(_MENTION, ("7", 1_763_000_030, 1_763_000_030))
    conn.execute("UPDATE mentions SET weight = 2.5 WHERE native_id = '7'")
    conn.execute(_TOPIC, ("7", 1_763_000_030))
    row = conn.execute(
        "SELECT n, reach FROM negative_minutes WHERE scope_kind = 'topic' AND minute = %s",
        (1_763_000_030 // 60,),
    ).fetchone()
    assert row == (1, 2.5)


def test_the_first_mention_of_a_brand_is_planned_for_each_call_never_prepared(
    postgres_server: PostgresServer,
) -> None:
    name = postgres_server.fresh_database(postgres_server.template)
    try:
        with Store(postgres_server.url(name)) as store:
            for _ in range(8):  # psycopg prepares what one connection has run 5 times
                store.first_mention_at("Acme")
                store.label_counts("Acme")  # the control: an ordinary statement is prepared
            prepared = [
                r["statement"] for r in store.query("SELECT statement FROM pg_prepared_statements")
            ]
    finally:
        postgres_server.drop_database(name)
    assert any("GROUP BY label" in s for s in prepared), prepared
    assert not any("min(created_at)" in s for s in prepared), prepared
