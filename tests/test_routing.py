"""Routing: ordered routes, first match wins unless `continue`, a final default."""

from __future__ import annotations

from datetime import UTC, datetime

from monitor.config import RouteConfig, RouteMatch
from monitor.models import Incident
from monitor.routing import teams_for

NOW = datetime(2026, 11, 20, tzinfo=UTC)


def incident(
    kind: str = "brand", value: str = "Acme", severity: str = "warning", brand: str = "Acme"
) -> Incident:
    return Incident(
        1,
        brand,
        kind,
        value,
        "open",
        severity,
        NOW,
        NOW,
        NOW,
        None,
        NOW,
        1,
        9.0,
        1.0,
        9.0,
        9.0,
        9.0,  # type: ignore[arg-type]
    )


ROUTES = (
    RouteConfig(team="support", match=RouteMatch(channel="appstore")),
    RouteConfig(team="pr", match=RouteMatch(severity="critical"), continue_=True),
    RouteConfig(team="billing", match=RouteMatch(topic=("refunds", "pricing"))),
    RouteConfig(team="oncall"),
)


def test_first_matching_route_wins() -> None:
    assert teams_for(ROUTES, incident("channel", "appstore", "critical")) == ["support"]


def test_continue_lets_later_routes_match_too() -> None:
    assert teams_for(ROUTES, incident("topic", "pricing", "critical")) == ["pr", "billing"]


def test_final_default_catches_the_rest() -> None:
    assert teams_for(ROUTES, incident()) == ["oncall"]


def test_list_matchers_match_any_listed_value() -> None:
    assert teams_for(ROUTES, incident("topic", "refunds")) == ["billing"]


def test_brand_scope_does_not_match_a_channel_route() -> None:
    assert teams_for(ROUTES[:1] + ROUTES[3:], incident("brand", "Acme", "critical")) == ["oncall"]


def test_a_team_is_listed_once_even_if_two_routes_name_it() -> None:
    routes = (
        RouteConfig(team="pr", continue_=True, match=RouteMatch(brand="Acme")),
        RouteConfig(team="pr"),
    )
    assert teams_for(routes, incident()) == ["pr"]
