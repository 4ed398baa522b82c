"""Report helpers: learning-curve statistics and number formatting."""

from __future__ import annotations

import math

import numpy as np

from rewardlab.studies.report import curve_statistics, fmt


def test_curve_statistics_interpolates_and_skips_nan_points():
    first = [{"step": 10, "return": math.nan}, {"step": 20, "return": 2.0}, {"step": 40, "return": 4.0}]
    second = [{"step": 20, "return": 1.0}, {"step": 30, "return": 3.0}, {"step": 40, "return": 5.0}]
    steps, values = curve_statistics([first, second], "return")
    assert steps.tolist() == [20.0, 40.0]
    assert values.tolist() == [[2.0, 4.0], [1.0, 5.0]]
    assert curve_statistics([[{"step": 1}]], "return") is None


def test_fmt_keeps_three_significant_digits():
    assert [fmt(x) for x in (12345.6, 123.45, 12.345, 1.2345, 0.012345, 0.0012345, 0.0)] == [
        "12346", "123.5", "12.35", "1.234", "0.012", "1.23e-03", "0.000"]
    assert fmt(np.nan) == "nan"
