"""Classification and decisions on the original dynamo-consistency test listing and dump."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from consistency_data import original_config, original_inventory, original_listing
from dynamo.consistency import (
    Action,
    Comparison,
    ConsistencyConfig,
    ExpectedFile,
    Kind,
    compare,
    decide,
)
from dynamo.storage import FileStat

NOW = 1_700_000_000
DAY = 86_400


def _compare(
    config: ConsistencyConfig, in_flight: set[str] | None = None, **kw: object
) -> Comparison:
    roots = list(config.directories)
    prefixes = tuple(r + "/" for r in roots)
    expected = {lfn: f for lfn, f in original_inventory().items() if lfn.startswith(prefixes)}
    return compare(
        expected,
        original_listing(),
        in_flight=in_flight or set(),
        config=config,
        now=NOW,
        roots=roots,
        **kw,  # type: ignore[arg-type]
    )


def test_the_original_configuration_reads_into_ours() -> None:
    config = ConsistencyConfig.from_original(original_config("consistency_config.json"))
    assert config.directories == ("/store/mc", "/store/data", "/store/hidata")
    assert config.ignore == ("/RAW",)
    assert (config.grace_seconds, config.max_missing, config.max_orphan) == (DAY, 100, 1000)


def test_the_original_listing_is_classified_exactly() -> None:
    config = ConsistencyConfig.from_original(original_config("consistency_config.json"))
    result = _compare(config)
    assert [path for path, _ in result.missing] == [
        "/store/data/runB/0001/missi.root",
        "/store/data/runB/earlyfile.root",
        "/store/mc/ttThings/0000/doulb.root",
        "/store/mc/ttThings/00000/extra_zero.root",
        "/store/mc/ttThings/0001/zxcvb.root",
    ]
    assert [stat.path for stat in result.orphans] == ["/store/data/runB/0001/orphan.root"]
    # runC holds nothing but directories: all of it goes, deepest first
    assert [d.path for d in result.empty_dirs] == [
        "/store/data/runC/0000/emtpy/dir",
        "/store/data/runC/0000/emtpy",
        "/store/data/runC/0000",
        "/store/data/runC",
    ]
    assert result.size_mismatch == []
    # /store/junk is not a checked directory: its file is neither expected nor missing
    assert result.expected_files == 8
    assert result.listed_files == 4


def test_files_in_flight_young_files_and_ignored_paths_are_not_judged() -> None:
    config = ConsistencyConfig(directories=("/store/mc", "/store/data"), ignore=("/runB/0001",))
    result = _compare(config, in_flight={"/store/mc/ttThings/0001/zxcvb.root"})
    missing = {path for path, _ in result.missing}
    assert "/store/mc/ttThings/0001/zxcvb.root" not in missing
    assert "/store/data/runB/0001/missi.root" not in missing
    assert result.orphans == []  # the orphan is in the ignored directory
    assert (result.skipped_in_flight, result.skipped_ignored) == (1, 2)
    young = FileStat("/store/mc/new.root", 5, datetime.fromtimestamp(NOW - 60, UTC))
    fresh = compare({}, [young], in_flight=set(), config=config, now=NOW)
    assert (fresh.orphans, fresh.skipped_young) == ([], 1)


def test_an_expected_file_of_a_recently_changed_replica_is_not_missing() -> None:
    recent = ExpectedFile("/store/mc/a.root", 1, "", "d", "b", NOW - 10)
    result = compare({recent.lfn: recent}, [], in_flight=set(), config=ConsistencyConfig(), now=NOW)
    assert (result.missing, result.skipped_young) == ([], 1)


def test_a_wrong_size_is_found_and_matches_are_sampled_with_a_seed() -> None:
    old = datetime.fromtimestamp(0, UTC)
    expected = {
        f"/store/f{n}": ExpectedFile(f"/store/f{n}", 10, "", "d", "b", 0) for n in range(50)
    }
    listing = [FileStat(path, 10 if path != "/store/f7" else 11, old) for path in expected]
    config = ConsistencyConfig(checksum_sample=5)
    one = compare(expected, listing, in_flight=set(), config=config, now=NOW, seed=3)
    two = compare(expected, listing, in_flight=set(), config=config, now=NOW, seed=3)
    assert [(s.path, e.size) for s, e in one.size_mismatch] == [("/store/f7", 10)]
    assert len(one.sample) == 5
    assert [s.path for s, _ in one.sample] == [s.path for s, _ in two.sample]


def _decide(config: ConsistencyConfig, before: set[str], copies: bool = True):  # type: ignore[no-untyped-def]
    return decide(
        _compare(config), previously_missing=before, has_other_copy=lambda f: copies, config=config
    )


def test_a_file_missing_once_waits_and_missing_twice_is_retransferred() -> None:
    config = ConsistencyConfig.from_original(original_config("consistency_config.json"))
    first = _decide(config, set())
    assert {f.action for f in first.findings if f.kind is Kind.MISSING} == {Action.WAIT}
    before = {f.lfn for f in first.findings if f.kind is Kind.MISSING and f.lfn}
    second = _decide(config, before)
    assert {f.action for f in second.findings if f.kind is Kind.MISSING} == {Action.TRANSFER}
    assert [f.path for f in second.of(Action.DELETE)][:2] == [
        "/store/data/runB/0001/orphan.root",
        "/store/data/runC/0000/emtpy/dir",
    ]
    assert second.held == []


def test_without_another_copy_a_file_missing_twice_is_lost() -> None:
    config = ConsistencyConfig.from_original(original_config("consistency_config.json"))
    before = set(original_inventory())
    lost = _decide(config, before, copies=False)
    assert {f.kind for f in lost.findings if f.lfn in before} == {Kind.LOST}
    assert not lost.of(Action.TRANSFER)


def test_the_originals_no_orphan_configuration_holds_the_orphan() -> None:
    config = ConsistencyConfig.from_original(original_config("no_orphan_config.json"))
    decisions = _decide(config, set())
    orphan = next(f for f in decisions.findings if f.kind is Kind.ORPHAN)
    assert orphan.action is Action.HELD
    assert decisions.held == ["orphan files: 1 > 0; nothing deleted"]


@pytest.mark.parametrize(
    ("limit", "fraction", "held"),
    [(100, 1.0, False), (4, 1.0, True), (100, 0.5, True), (100, 0.7, False)],
)
def test_missing_limits_count_and_fraction(limit: int, fraction: float, held: bool) -> None:
    config = ConsistencyConfig(
        directories=("/store/mc", "/store/data", "/store/hidata"),
        max_missing=limit,
        max_missing_fraction=fraction,
        max_orphan_fraction=1.0,
    )
    decisions = _decide(config, set())
    actions = {f.action for f in decisions.findings if f.kind is Kind.MISSING}
    assert actions == ({Action.HELD} if held else {Action.WAIT})
    assert bool(decisions.held) is held
