"""GlobIndex answers exactly what fnmatchcase answers, whatever the globs and names."""

from __future__ import annotations

from fnmatch import fnmatchcase

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dynamo.producers.globs import GlobIndex, literal_runs

ALPHABET = "/ab*?[]!-"
globs = st.text(alphabet=ALPHABET, max_size=10)
names = st.text(alphabet="/ab[]!-", max_size=10)


@given(st.lists(globs, max_size=6), st.lists(names, max_size=10))
@settings(max_examples=500, deadline=None)
def test_the_index_matches_exactly_what_fnmatchcase_matches(
    patterns: list[str], candidates: list[str]
) -> None:
    index = GlobIndex((glob, number) for number, glob in enumerate(patterns))
    for name in candidates:
        expected = {n for n, glob in enumerate(patterns) if fnmatchcase(name, glob)}
        found = index.matches(name)
        assert sorted(found) == sorted(expected)


@pytest.mark.parametrize(
    ("glob", "name", "matches"),
    [
        ("/*/*/AOD", "/ZeroBias/Run2018D-v1/AOD", True),
        ("/*/*/AOD", "/ZeroBias/Run2018D-v1/AODSIM", False),
        ("/*/AOD", "/ZeroBias/Run2018D-v1/AOD", True),  # * also matches /
        ("/SingleMuon/*/*", "/SingleMuon/Run2018D-v1/MINIAOD", True),
        ("/SingleMuon/*/*", "/SingleMuonX/Run2018D-v1/MINIAOD", False),
        ("/*/*/MINIAOD*", "/A/B/MINIAODSIM", True),
        ("/*/*/MINIAOD*", "/A/B/AOD", False),
        ("/*/Run201[78]*/*", "/A/Run2017B-v1/AOD", True),
        ("/*/Run201[78]*/*", "/A/Run2016B-v1/AOD", False),
    ],
)
def test_dataset_globs_match_as_in_the_policies(glob: str, name: str, matches: bool) -> None:
    assert (GlobIndex([(glob, 1)]).matches(name) == [1]) is matches


@pytest.mark.parametrize(
    ("glob", "runs"),
    [
        ("/*/*/AOD", ["/", None, "/", None, "/AOD"]),
        ("a[bc]d", ["a", None, "d"]),
        ("a[]x]d", ["a", None, "d"]),
        ("a[!x]*d", ["a", None, "d"]),
        ("a[bc", ["a[bc"]),
        ("**", [None]),
        ("", []),
    ],
)
def test_literal_runs_follow_fnmatch_translate(glob: str, runs: list[str | None]) -> None:
    assert literal_runs(glob) == runs


def test_an_empty_index_matches_nothing() -> None:
    index: GlobIndex[int] = GlobIndex([])
    assert len(index) == 0
    assert index.matches("/A/B/C") == []
