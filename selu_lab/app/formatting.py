"""Human-readable durations for the tabs' progress bars and estimates."""

from __future__ import annotations

import math


def format_duration(seconds: float | None) -> str:
    """'4.2 s', '42 s', '3 min 05 s', '1 h 02 min'; 'under 0.1 s'; '–' when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "–"
    if seconds < 0.05:
        return "under 0.1 s"
    if seconds < 10:
        return f"{max(seconds, 0.0):.1f} s"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, s = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {s:02d} s"
    hours, m = divmod(minutes, 60)
    return f"{hours} h {m:02d} min"
