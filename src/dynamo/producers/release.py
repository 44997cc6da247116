"""The ``release`` producer: ``dataset.is_latest_production_release``.

Configuration, exactly one of:

- ``releases`` -- a list of production releases, ``X_Y_Z`` with an optional ``_suffix`` and an
  optional ``CMSSW_`` prefix (``"10_6_12"``, ``"CMSSW_10_6_12_patch1"``);
- ``file`` -- a text file with one such release a line (blank lines and ``#`` comments skipped).

The rule is the original's (DatasetRelease, which read the acquisition eras of DBS): a release
cycle is ``X_Y``; the newest production release of a cycle is the listed release of that cycle
with the highest ``Z``. A dataset is flagged when its release (``dataset.release``) has that
``Z`` in its cycle; the suffix is ignored, so ``10_6_12_patch1`` counts as ``10_6_12``.
Datasets without a release, or of a cycle with no listed release, are not flagged (the original
flagged ``X_Y_0`` of an unlisted cycle, an artefact of a dict defaulting to 0).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

from dynamo.errors import ConfigurationError
from dynamo.model import Inventory
from dynamo.policy import Attributes
from dynamo.producers.base import ProducerSources, register_producer
from dynamo.producers.options import check_keys, string_list

__all__ = ["IS_LATEST_PRODUCTION_RELEASE", "ReleaseProducer", "newest_minors", "parse_release"]

log = logging.getLogger(__name__)

NAME: Final = "release"
IS_LATEST_PRODUCTION_RELEASE: Final = "is_latest_production_release"
_RELEASE = re.compile(r"(?:CMSSW_)?(\d+)_(\d+)_(\d+)(?:_(\w+))?")


def parse_release(text: str) -> tuple[int, int, int, str]:
    """``"10_6_12_patch1"`` -> ``(10, 6, 12, "patch1")``; ConfigurationError if malformed."""
    found = _RELEASE.fullmatch(text.strip())
    if found is None:
        raise ConfigurationError(
            f"producer {NAME!r}: {text!r} is not a release (X_Y_Z[_suffix], e.g. 10_6_12)"
        )
    cycle, major, minor, suffix = found.groups()
    return int(cycle), int(major), int(minor), suffix or ""


def newest_minors(releases: Iterable[tuple[int, int, int, str]]) -> dict[tuple[int, int], int]:
    """Release cycle ``(X, Y)`` -> the highest ``Z`` among ``releases``."""
    newest: dict[tuple[int, int], int] = {}
    for cycle, major, minor, _suffix in releases:
        key = (cycle, major)
        newest[key] = max(minor, newest.get(key, minor))
    return newest


class ReleaseProducer:
    """Flags the datasets of the newest production release of their cycle."""

    produces: frozenset[str] = frozenset({IS_LATEST_PRODUCTION_RELEASE})

    def __init__(self, releases: Iterable[tuple[int, int, int, str]]) -> None:
        self.newest = newest_minors(releases)

    def load(self, inventory: Inventory, attributes: Attributes, now: int) -> None:
        newest = self.newest
        flagged = 0
        for name, dataset in inventory.datasets.items():
            version = dataset.software_version
            if version is not None and newest.get((version[0], version[1])) == version[2]:
                attributes.set_dataset(IS_LATEST_PRODUCTION_RELEASE, name, True)
                flagged += 1
        log.info("%d datasets are of the latest production release", flagged)


@register_producer(NAME, ReleaseProducer.produces)
def _build(config: Mapping[str, Any], sources: ProducerSources) -> ReleaseProducer:
    check_keys(config, NAME, ("releases", "file"))
    if ("releases" in config) == ("file" in config):
        raise ConfigurationError(f"producer {NAME!r}: give exactly one of 'releases' and 'file'")
    if "releases" in config:
        texts = string_list(config["releases"], NAME, "releases")
    else:
        texts = _read_lines(sources.path(config["file"], producer=NAME, key="file"))
    return ReleaseProducer(parse_release(text) for text in texts)


def _read_lines(path: Path) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigurationError(
            f"producer {NAME!r}: cannot read the releases file {path}: {exc}"
        ) from exc
    stripped = (line.split("#", 1)[0].strip() for line in lines)
    return [line for line in stripped if line]
