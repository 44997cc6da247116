"""Cleaning /store/unmerged with WMCore's real protected prefixes and a real area listing."""

from __future__ import annotations

from datetime import UTC, datetime

from consistency_data import protected_prefixes, unmerged_files
from dynamo.consistency import Action, Kind, UnmergedConfig, clean_unmerged
from dynamo.storage import FileStat

NOW = 1_700_000_000
DAY = 86_400


def _at(age_days: float) -> datetime:
    return datetime.fromtimestamp(NOW - age_days * DAY, UTC)


def _is_protected(lfn: str, prefixes: list[str]) -> bool:
    return any(lfn == p or lfn.startswith(p.rstrip("/") + "/") for p in prefixes)


def test_old_unprotected_files_go_and_protected_ones_stay() -> None:
    prefixes = protected_prefixes()
    files = unmerged_files()
    listing = [FileStat(lfn, 100, _at(30)) for lfn in files]
    config = UnmergedConfig(protected=tuple(prefixes), max_age_seconds=14 * DAY)
    findings, counts = clean_unmerged(listing, config, now=NOW)
    kept = {lfn for lfn in files if _is_protected(lfn, prefixes)}
    assert len(kept) == 1004  # the real dump: 1,004 of its 11,938 files are protected
    assert {f.path for f in findings} == set(files) - kept
    assert {(f.kind, f.action) for f in findings} == {(Kind.UNMERGED, Action.DELETE)}
    assert counts == {"unmerged_files": len(files), "protected": len(kept), "young": 0}


def test_young_files_and_recent_logs_stay_old_logs_go_even_if_protected() -> None:
    prefixes = protected_prefixes()
    protected_dir = prefixes[0]
    listing = [
        FileStat("/store/unmerged/a/young.root", 1, _at(3)),
        FileStat("/store/unmerged/logs/prod/2019/old.tar", 1, _at(90)),
        FileStat("/store/unmerged/logs/prod/2023/recent.tar", 1, _at(10)),
        FileStat(f"{protected_dir}/000/kept.root", 1, _at(400)),
        FileStat("/store/unmerged/a", 0, _at(400), is_dir=True),
    ]
    config = UnmergedConfig(protected=(protected_dir, "/store/unmerged/logs/prod"))
    findings, counts = clean_unmerged(listing, config, now=NOW)
    assert [(f.kind, f.path) for f in findings] == [
        (Kind.LOG, "/store/unmerged/logs/prod/2019/old.tar")
    ]
    assert counts == {"unmerged_files": 4, "protected": 1, "young": 2}
