"""The regression guard's verdicts (no benchmark is run here; no time is asserted)."""

from __future__ import annotations

import json

from dynamo.bench.regress import BASELINE, Figure, compare, load_baseline

RECORDED = {"load": {"value": 1.0}, "reads": {"value": 1000.0}}


def test_a_figure_five_times_worse_than_recorded_fails() -> None:
    figures = [
        Figure("load", 4.9, "s", "lower"),
        Figure("reads", 201.0, "req/s", "higher"),
    ]
    assert all(v.ok for v in compare(figures, RECORDED, 5.0))
    worse = [Figure("load", 5.1, "s", "lower"), Figure("reads", 199.0, "req/s", "higher")]
    assert [v.ok for v in compare(worse, RECORDED, 5.0)] == [False, False]


def test_slack_is_added_to_a_time_and_an_unrecorded_figure_passes() -> None:
    (slow,) = compare([Figure("load", 5.4, "s", "lower", slack=0.5)], RECORDED, 5.0)
    assert (slow.ok, slow.limit) == (True, 5.5)
    (new,) = compare([Figure("new", 1e9, "s", "lower")], RECORDED, 5.0)
    assert (new.ok, new.recorded) == (True, None)


def test_the_recorded_baseline_names_every_figure_with_a_value() -> None:
    baseline = load_baseline(BASELINE)
    assert baseline == json.loads(BASELINE.read_text())
    assert {"load XS", "Detox cycle XS", "REST reads XS", "injection (SQLite)"} <= set(baseline)
    assert all(entry["value"] > 0 for entry in baseline.values())
