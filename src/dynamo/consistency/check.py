"""One consistency check of one site: list, compare, decide, act, record.

The storage is listed directory by directory (streamed: the listing is never held whole);
a checked directory that does not exist on storage lists as empty, so its files are missing.
Sampled checksums are read from storage after the comparison. Then, unless it is a dry run:
wrong-size and wrong-checksum files are deleted and, like confirmed missing files,
subscribed for transfer to the site (file operations pick a source: another disk copy, else
tape); orphans, empty directories and stale production files are deleted through the site's
storage; and the run is recorded with every finding and its action. A dry run records the
run (mode ``dry_run``) and touches nothing; the two-run rule only counts real runs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from dynamo.consistency.compare import Comparison, compare
from dynamo.consistency.config import ConsistencyConfig
from dynamo.consistency.decide import Action, Decisions, Finding, Kind, decide
from dynamo.consistency.expected import ExpectedFile, expected_files, in_flight
from dynamo.consistency.report import previously_missing, record_run
from dynamo.consistency.unmerged import clean_unmerged
from dynamo.fileops.ports import OpKind
from dynamo.fileops.subscriptions import FileRef, subscribe
from dynamo.model import Inventory, SiteStatus
from dynamo.storage import (
    FileStat,
    StorageBackend,
    StorageError,
    StorageNotFound,
    StorageUnavailable,
)

__all__ = ["CheckResult", "check_site"]

log = logging.getLogger(__name__)

ORIGIN = "consistency"


@dataclass(slots=True, kw_only=True)
class CheckResult:
    """What a check found and did; ``lost`` are the files no copy is left of anywhere."""

    run_id: int | None
    site: str
    mode: str
    status: str
    reason: str | None
    summary: dict[str, Any]
    findings: list[Finding]
    lost: list[ExpectedFile] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "site": self.site,
            "mode": self.mode,
            "status": self.status,
            "reason": self.reason,
            "summary": self.summary,
            "findings": [finding.to_json() for finding in self.findings],
        }


def check_site(
    *,
    engine: Engine,
    inventory: Inventory,
    site: str,
    storage: StorageBackend,
    config: ConsistencyConfig,
    now: float | None = None,
    path_of: Callable[[str], str] | None = None,
    dry_run: bool = False,
    invalidate_lost: bool = False,
    seed: int = 0,
) -> CheckResult:
    """Check ``site`` against ``storage`` (see the module docstring). ``path_of`` maps an LFN
    to its site path (default: the LFN is the path)."""
    started = time.time()
    now = started if now is None else now
    settings = config.for_site(site)
    expected = expected_files(engine, site)
    flight = in_flight(engine, site)
    roots = [d.rstrip("/") or "/" for d in settings.directories]
    by_path = _by_path(expected, roots, path_of)
    comparison = compare(
        by_path,
        _listing(storage, roots),
        in_flight=flight,
        config=settings,
        now=now,
        seed=seed,
        roots=roots,
    )
    bad_checksums = _sampled_checksums(storage, comparison)
    with engine.connect() as conn:
        before = previously_missing(conn, site)
    decisions = decide(
        comparison,
        previously_missing=before,
        has_other_copy=_other_copy_finder(inventory, site),
        config=settings,
        checksum_mismatch=bad_checksums,
        invalidate_lost=invalidate_lost,
    )
    summary: dict[str, Any] = comparison.counts()
    summary["checksum_sampled"] = len(comparison.sample)
    summary["checksum_mismatch"] = len(bad_checksums)
    if settings.unmerged is not None:
        found, counts = clean_unmerged(
            _listing(storage, [settings.unmerged.area]), settings.unmerged, now=now
        )
        decisions.findings += found
        summary |= counts
    summary["actions"] = _action_counts(decisions)
    mode = "dry_run" if dry_run else "run"
    if not dry_run:
        _act(engine, storage, site, decisions, now=int(now))
    status = "held" if decisions.held else "done"
    reason = "; ".join(decisions.held) or None
    with engine.begin() as conn:
        run_id = record_run(
            conn,
            site=site,
            mode=mode,
            status=status,
            reason=reason,
            started=int(started),
            finished=int(time.time()),
            summary=summary,
            findings=decisions.findings,
        )
    _log(site, mode, summary, reason)
    lost = [f.expected for f in decisions.findings if f.kind is Kind.LOST and f.expected]
    return CheckResult(
        run_id=run_id,
        site=site,
        mode=mode,
        status=status,
        reason=reason,
        summary=summary,
        findings=decisions.findings,
        lost=lost,
    )


def _by_path(
    expected: dict[str, ExpectedFile], roots: list[str], path_of: Callable[[str], str] | None
) -> dict[str, ExpectedFile]:
    prefixes = tuple("/" if r == "/" else r + "/" for r in roots)
    found: dict[str, ExpectedFile] = {}
    for lfn, item in expected.items():
        path = lfn if path_of is None else path_of(lfn)
        if path.startswith(prefixes):
            found[path] = item
    return found


def _listing(storage: StorageBackend, roots: list[str]) -> Iterator[FileStat]:
    """Every entry under ``roots``. A root that does not exist lists as empty; any other
    failure, a directory below a root that vanished included, ends the check (raised): a
    partial listing would declare the files it did not reach missing."""
    for root in roots:
        listed = 0
        try:
            for entry in storage.walk(root):
                listed += 1
                yield entry
        except StorageNotFound as exc:
            if listed or (exc.path is not None and exc.path.rstrip("/") != root.rstrip("/")):
                raise StorageUnavailable(
                    f"the listing of {root} broke off after {listed} entries: {exc}", path=root
                ) from exc
            log.info("%s: %s does not exist on storage", storage.url("/"), root)


def _sampled_checksums(
    storage: StorageBackend, comparison: Comparison
) -> list[tuple[str, ExpectedFile, str]]:
    bad = []
    for stat, expected in comparison.sample:
        if not expected.adler32:
            continue
        try:
            found = storage.checksum(stat.path)
        except StorageError as exc:
            log.warning("checksum of %s failed: %s", stat.path, exc)
            continue
        if found.lower() != expected.adler32.lower():
            bad.append((stat.path, expected, found))
    return bad


def _other_copy_finder(inventory: Inventory, site: str) -> Callable[[ExpectedFile], bool]:
    def has_other_copy(item: ExpectedFile) -> bool:
        block = inventory.find_block(item.dataset, item.block)
        if block is None:
            return False
        return any(
            br.site.name != site
            and br.site.status is not SiteStatus.MORGUE
            and br.size == block.size
            and br.num_files == block.num_files
            for br in block.replicas
        )

    return has_other_copy


def _act(engine: Engine, storage: StorageBackend, site: str, out: Decisions, *, now: int) -> None:
    wrong = (Kind.SIZE_MISMATCH, Kind.CHECKSUM_MISMATCH)
    for finding in out.findings:
        deletes = finding.action is Action.DELETE or (
            finding.kind in wrong and finding.action is Action.TRANSFER
        )
        if deletes and finding.kind is not Kind.EMPTY_DIR:
            _delete(storage, finding)
    for finding in out.of(Action.DELETE):
        if finding.kind is Kind.EMPTY_DIR:
            _delete(storage, finding)
    refs = [
        FileRef(
            lfn=f.expected.lfn,
            dataset=f.expected.dataset,
            block=f.expected.block,
            size=f.expected.size,
            adler32=f.expected.adler32,
        )
        for f in out.of(Action.TRANSFER)
        if f.expected is not None
    ]
    if refs:
        with engine.begin() as conn:
            subscribe(conn, OpKind.TRANSFER, site, refs, origin=ORIGIN, now=now)


def _delete(storage: StorageBackend, finding: Finding) -> None:
    try:
        storage.delete(finding.path)
    except StorageNotFound:
        pass  # gone meanwhile: what was wanted
    except StorageError as exc:
        log.warning("could not delete %s: %s", finding.path, exc)


def _action_counts(decisions: Decisions) -> dict[str, int]:
    counts: dict[str, int] = {}
    for finding in decisions.findings:
        key = f"{finding.kind.value}:{finding.action.value}"
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


def _log(site: str, mode: str, summary: dict[str, Any], reason: str | None) -> None:
    log.info(
        "consistency %s of %s: %d listed, %d expected, %d missing, %d orphan, "
        "%d wrong size, %d wrong checksum%s",
        mode,
        site,
        summary["listed_files"],
        summary["expected_files"],
        summary["missing"],
        summary["orphan"],
        summary["size_mismatch"],
        summary["checksum_mismatch"],
        f"; held: {reason}" if reason else "",
    )
