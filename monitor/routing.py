"""Pick the team(s) for an incident: ordered routes, first match wins unless `continue`."""

from __future__ import annotations

from collections.abc import Sequence

from monitor.config import RouteConfig, RouteMatch
from monitor.models import Incident


def _matches(want: tuple[str, ...] | str | None, have: str | None) -> bool:
    if want is None:
        return True
    if have is None:
        return False
    return have in ((want,) if isinstance(want, str) else want)


def route_matches(match: RouteMatch | None, incident: Incident) -> bool:
    if match is None:
        return True
    channel = incident.scope_value if incident.scope_kind == "channel" else None
    topic = incident.scope_value if incident.scope_kind == "topic" else None
    return (
        _matches(match.brand, incident.brand)
        and _matches(match.channel, channel)
        and _matches(match.topic, topic)
        and _matches(match.severity, incident.severity)
    )


def teams_for(routes: Sequence[RouteConfig], incident: Incident) -> list[str]:
    """Teams in route order, each once. A route with `continue: true` lets later ones match too."""
    teams: list[str] = []
    for route in routes:
        if not route_matches(route.match, incident):
            continue
        if route.team not in teams:
            teams.append(route.team)
        if not route.continue_:
            break
    return teams
