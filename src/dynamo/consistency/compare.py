"""Comparing a site's listing with what the inventory places there (pure; no I/O).

The listing is streamed once; expected files are popped from a copy of the expected map as
they are seen, so what remains is missing. Safety (never classified): files and directories
younger than the grace age, files with an operation in flight, paths matching an ``ignore``
string, and expected files whose replica changed within the grace age. Every matched file
is a candidate for the checksum sample (a seeded reservoir sample of ``checksum_sample``).
"""

from __future__ import annotations

import posixpath
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from dynamo.consistency.config import ConsistencyConfig
from dynamo.consistency.expected import ExpectedFile
from dynamo.storage import FileStat

__all__ = ["Comparison", "compare"]


@dataclass(slots=True, kw_only=True)
class Comparison:
    """What a listing and the inventory disagree on, and what was left out and why."""

    listed_files: int = 0
    expected_files: int = 0
    missing: list[tuple[str, ExpectedFile]] = field(default_factory=list)
    orphans: list[FileStat] = field(default_factory=list)
    size_mismatch: list[tuple[FileStat, ExpectedFile]] = field(default_factory=list)
    sample: list[tuple[FileStat, ExpectedFile]] = field(default_factory=list)
    empty_dirs: list[FileStat] = field(default_factory=list)
    skipped_young: int = 0
    skipped_in_flight: int = 0
    skipped_ignored: int = 0

    def counts(self) -> dict[str, int]:
        return {
            "listed_files": self.listed_files,
            "expected_files": self.expected_files,
            "missing": len(self.missing),
            "orphan": len(self.orphans),
            "size_mismatch": len(self.size_mismatch),
            "empty_dir": len(self.empty_dirs),
            "skipped_young": self.skipped_young,
            "skipped_in_flight": self.skipped_in_flight,
            "skipped_ignored": self.skipped_ignored,
        }


def compare(
    expected_by_path: Mapping[str, ExpectedFile],
    listing: Iterable[FileStat],
    *,
    in_flight: set[str],
    config: ConsistencyConfig,
    now: float,
    seed: int = 0,
    roots: Iterable[str] = (),
) -> Comparison:
    """Classify ``listing`` (every entry under the checked directories) against
    ``expected_by_path`` (site path -> file; only paths under the checked directories);
    ``in_flight`` holds LFNs. ``roots`` are the listed directories themselves (never empty
    directories to remove). A directory is empty when no file and no young directory lies
    below it; empty directories come deepest first, so that they can be removed in order."""
    result = Comparison(expected_files=len(expected_by_path))
    remaining = dict(expected_by_path)
    young_after = now - config.grace_seconds
    rng = random.Random(seed)
    seen_matches = 0
    wanted = config.checksum_sample
    directories: list[FileStat] = []
    holding: set[str] = set()  # directories with a file (or a young directory) below them
    for entry in listing:
        path = entry.path
        if entry.is_dir:
            directories.append(entry)
            if entry.mtime.timestamp() > young_after:
                _hold(holding, path)
            continue
        _hold(holding, posixpath.dirname(path))
        result.listed_files += 1
        expected = remaining.pop(path, None)
        if config.ignore and config.is_ignored(path):
            result.skipped_ignored += 1
            continue
        if entry.mtime.timestamp() > young_after:
            result.skipped_young += 1
            continue
        lfn = expected.lfn if expected is not None else path
        if lfn in in_flight:
            result.skipped_in_flight += 1
            continue
        if expected is None:
            result.orphans.append(entry)
        elif entry.size != expected.size:
            result.size_mismatch.append((entry, expected))
        elif wanted:
            seen_matches += 1
            if len(result.sample) < wanted:
                result.sample.append((entry, expected))
            else:
                slot = rng.randrange(seen_matches)
                if slot < wanted:
                    result.sample[slot] = (entry, expected)
    for path, expected in remaining.items():
        if config.ignore and config.is_ignored(path):
            result.skipped_ignored += 1
        elif expected.since > young_after:
            result.skipped_young += 1
        elif expected.lfn in in_flight:
            result.skipped_in_flight += 1
        else:
            result.missing.append((path, expected))
    top = {posixpath.normpath(root) for root in roots}
    for d in directories:
        if config.ignore and config.is_ignored(d.path):
            _hold(holding, d.path)
    empty = [d for d in directories if d.path not in holding and d.path not in top]
    result.empty_dirs = sorted(empty, key=lambda d: (-d.path.count("/"), d.path))
    result.missing.sort(key=lambda item: item[0])
    result.orphans.sort(key=lambda stat: stat.path)
    return result


def _hold(holding: set[str], directory: str) -> None:
    """Mark ``directory`` and its ancestors as not empty."""
    while directory not in holding and directory not in ("/", ""):
        holding.add(directory)
        directory = posixpath.dirname(directory)
