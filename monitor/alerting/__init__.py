"""Spike maths, the incident state machine and spike drivers: pure functions over plain data."""

from monitor.alerting.detector import Counts, DetectorSettings, Evaluation, Interval, evaluate
from monitor.alerting.incidents import PAGES, Scope, Transition, TransitionKind, step, transition
from monitor.alerting.series import BucketCounts

__all__ = [
    "PAGES",
    "BucketCounts",
    "Counts",
    "DetectorSettings",
    "Evaluation",
    "Interval",
    "Scope",
    "Transition",
    "TransitionKind",
    "evaluate",
    "step",
    "transition",
]
