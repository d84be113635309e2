"""Durations as the tabs show them."""

import math

from selu_lab.app.formatting import format_duration


def test_format_duration():
    assert format_duration(None) == "–" and format_duration(math.nan) == "–"
    assert format_duration(4.24) == "4.2 s" and format_duration(0.07) == "0.1 s"
    assert format_duration(0.01) == "under 0.1 s"  # not "0.0 s"
    assert format_duration(42.4) == "42 s"
    assert format_duration(185) == "3 min 05 s"
    assert format_duration(3720) == "1 h 02 min"
