"""The weekly digest: `build` computes it, `schedule` queues it, `view` words it for every
receiver, `chart` draws it. Rendering per medium lives with each notifier (monitor.notify)."""

from monitor.digest.build import (
    build_digest,
    default_week,
    digest_settings,
    parse_week,
    team_scope,
    week_of,
)
from monitor.digest.schedule import DigestScheduler

__all__ = [
    "DigestScheduler",
    "build_digest",
    "default_week",
    "digest_settings",
    "parse_week",
    "team_scope",
    "week_of",
]
