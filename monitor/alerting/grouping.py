"""One event, one page: topic and channel incidents fold into their brand's open incident.

Pure, like the state machine: `plan` takes each scope's transition from one detection pass and
says which ones notify and which are shown inside the brand's incident as its breakdown. A
topic or channel pages on its own only when the brand as a whole is not in an incident (a small
topic's spike hidden in a big brand's volume), when grouping is off, or when its routes send it
to other teams than the brand's incident. A scope that joins the brand's incident after its page
(or grows inside it) refreshes that page's breakdown: the brand's change becomes "updated".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta

from monitor.alerting.detector import Evaluation
from monitor.alerting.incidents import Scope, Transition
from monitor.models import Incident

# The transitions that send something; "updated" edits the page already sent, where the
# receiver can (a Slack bot), and sends nothing elsewhere.
NOTIFIES = frozenset({"opened", "updated", "escalated", "reminder", "resolved"})


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
    changes: Sequence[tuple[Scope, Evaluation, Transition | None, Incident | None]],
    same_teams: Callable[[Incident, Incident], bool],
    *,
    group: bool = True,
    group_wait: timedelta = timedelta(0),
) -> list[Decision]:
    """Decisions for one brand's pass, the whole brand's first: (scope, evaluation, transition,
    the scope's incident before the pass) per scope.

    A topic or channel incident that opens while the brand is not in an incident is held for
    `group_wait` (Alertmanager's group_wait): a brand-wide incident usually crosses its own
    level a few minutes after the topic at its heart, and the held incident then joins it
    instead of paging first. A held incident has `notifications == 0`.
    """
    brand: Incident | None = None
    for scope, _, change, current in changes:
        if scope.kind == "brand":
            brand = change.incident if change is not None else current
    if brand is not None and brand.status != "open":
        brand = None
    decisions: list[Decision] = []
    for scope, ev, change, current in sorted(changes, key=lambda c: c[0].kind != "brand"):
        if change is None:
            continue
        incident, kind = change.incident, change.kind
        held = current is not None and current.notifications == 0
        if scope.kind == "brand" or not group:
            decisions.append(Decision(scope, ev, change, kind in NOTIFIES))
        elif incident.grouped_into is not None:
            decisions.append(Decision(scope, ev, change, False))
        elif (kind == "opened" or held) and brand is not None and same_teams(incident, brand):
            decisions.append(Decision(scope, ev, _quiet(change), False, attach=True))
        elif kind == "opened" or held:
            # Routed elsewhere than its brand would be: nothing to wait for.
            alone = not same_teams(incident, replace(incident, scope_kind="brand"))
            waited = ev.at - incident.opened_at >= group_wait
            if incident.status == "open" and (alone or waited):
                paged = replace(incident, notifications=1, last_notified_at=ev.at)
                decisions.append(Decision(scope, ev, Transition(paged, "opened"), True))
            else:  # still waiting for its brand, or over before it ever paged
                decisions.append(Decision(scope, ev, _quiet(change), False))
        else:
            decisions.append(Decision(scope, ev, change, kind in NOTIFIES))
    return _refresh_breakdown(decisions)


def _refresh_breakdown(decisions: list[Decision]) -> list[Decision]:
    """A scope that joined the brand's incident, or grew inside it, changes the breakdown the
    brand's page shows: a brand incident with nothing else to send is "updated". (An opened,
    escalated or reminder message is built after the pass and shows the breakdown anyway.)"""
    changed = any(d.attach or (d.incident.grouped_into and d.kind == "updated") for d in decisions)
    for i, d in enumerate(decisions):
        if changed and d.scope.kind == "brand" and d.kind is None and d.incident.status == "open":
            decisions[i] = replace(d, transition=Transition(d.incident, "updated"), notify=True)
    return decisions


def _quiet(change: Transition) -> Transition:
    """The change with no notification owed: the incident has paged no one by itself."""
    incident = replace(change.incident, notifications=0, last_notified_at=None)
    return Transition(incident, None if change.kind != "resolved" else "resolved")
