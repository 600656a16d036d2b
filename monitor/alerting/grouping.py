"""One event, one page: topic and channel incidents fold into their brand's open incident.

Pure, like the state machine: `plan` takes each scope's transition from one detection pass and
says which ones notify and which are shown inside the brand's incident as its breakdown. A
topic or channel pages on its own only when the brand as a whole is not in an incident (a small
topic's spike hidden in a big brand's volume), when grouping is off, or when its routes send it
to other teams than the brand's incident.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from monitor.alerting.detector import Evaluation
from monitor.alerting.incidents import Scope, Transition
from monitor.models import Incident

# The transitions that send something: "updated" has no medium that can edit a sent message
# yet (see the README's Alerting section), so it changes the stored incident only.
NOTIFIES = frozenset({"opened", "escalated", "reminder", "resolved"})


@dataclass(frozen=True, slots=True)
class Decision:
    scope: Scope
    evaluation: Evaluation
    transition: Transition
    notify: bool
    # Newly attached to the brand's incident: the caller sets `grouped_into` once it has an id.
    attach: bool = False

    @property
    def incident(self) -> Incident:
        return self.transition.incident

    @property
    def kind(self) -> str | None:
        return self.transition.kind


def plan(
    changes: Sequence[tuple[Scope, Evaluation, Transition | None]],
    brand_open: Incident | None,
    same_teams: Callable[[Incident, Incident], bool],
    *,
    group: bool = True,
) -> list[Decision]:
    """Decisions for one brand's pass, the whole brand's first. `brand_open` is the brand
    incident open before the pass; the brand's own transition in `changes` supersedes it."""
    brand = brand_open
    for scope, _, change in changes:
        if scope.kind == "brand" and change is not None:
            brand = change.incident
    if brand is not None and brand.status != "open":
        brand = None
    decisions: list[Decision] = []
    for scope, ev, change in sorted(changes, key=lambda c: c[0].kind != "brand"):
        if change is None:
            continue
        incident, kind = change.incident, change.kind
        if scope.kind == "brand" or not group:
            decisions.append(Decision(scope, ev, change, kind in NOTIFIES))
        elif incident.grouped_into is not None:
            decisions.append(Decision(scope, ev, change, False))
        elif kind == "opened" and brand is not None and same_teams(incident, brand):
            decisions.append(Decision(scope, ev, change, False, attach=True))
        else:
            decisions.append(Decision(scope, ev, change, kind in NOTIFIES))
    return decisions
