"""monitor: a self-hosted brand monitor."""

__version__ = "0.1.0"
