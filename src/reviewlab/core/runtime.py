"""Measuring a run: its peak memory (the runtime JSON files record it beside wall time)."""

from __future__ import annotations

import resource


def peak_rss_gib() -> float:
    """Peak resident memory of this process so far (GiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
