"""CMS ``storage.json`` site descriptions (the successor of ``storage.xml``).

The file is a list of volumes::

    [{"site": "T1_US_FNAL", "volume": "FNAL_dCache_EOS", "type": "DISK", "rse": "T1_US_FNAL_Disk",
      "fts": ["https://..."],
      "protocols": [
        {"protocol": "XRootD", "access": "global-ro", "prefix": "root://host/"},
        {"protocol": "SRMv2", "access": "global-rw",
         "rules": [{"lfn": "/+store/(.*)", "pfn": "srm://se/...?SFN=/data/$1", "chain": "p"}]}
      ]}]

Each volume becomes a :class:`~dynamo.storage.tfc.TrivialFileCatalog`, as CMSSW builds it:

- ``prefix`` means the rule ``/?(.*)`` -> ``prefix/$1``, and back ``prefix/(.*)`` -> ``/$1``.
- ``rules`` keep their order; ``chain`` may be given per rule or per protocol and names another
  protocol of the same volume.
- storage.json has no pfn-to-lfn rules; each rule whose LFN side reads as a literal around one
  group (``/+store/temp/(.*)``) is inverted: ``escaped pfn prefix (group) suffix`` ->
  ``/store/temp/$1``.
  A rule that cannot be inverted that way has no reverse.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dynamo.errors import ConfigurationError
from dynamo.storage.naming import Rule
from dynamo.storage.tfc import TrivialFileCatalog

__all__ = [
    "ProtocolEntry",
    "StorageDescription",
    "StorageVolume",
    "invert_rule",
    "load_storage_json",
    "parse_storage_json",
]

_METACHARACTERS = set(".^$*+?{}[]\\|()")


@dataclass(frozen=True, slots=True)
class ProtocolEntry:
    """One protocol of a volume: a ``prefix`` or a list of (lfn, pfn, chain) ``rules``."""

    protocol: str
    access: str
    prefix: str | None
    rules: tuple[tuple[str, str, str | None], ...]
    comment: str = ""


@dataclass(frozen=True, slots=True)
class StorageVolume:
    """One site volume of a storage.json and the catalog of its protocols."""

    site: str
    volume: str
    type: str
    rse: str | None
    fts: tuple[str, ...]
    protocols: tuple[ProtocolEntry, ...]
    catalog: TrivialFileCatalog


def _literal(regex: str) -> str | None:
    """The text a regex fragment like ``^/+store/temp/`` always matches, if it is a literal."""
    text = regex.removeprefix("^").removesuffix("$").replace("/+", "/")
    out: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text) and not text[index + 1].isalnum():
            out.append(text[index + 1])
            index += 2
            continue
        if char in _METACHARACTERS:
            return None
        out.append(char)
        index += 1
    return "".join(out)


def _group_span(regex: str) -> tuple[int, int] | None:
    """Start and end index of the first capturing group of ``regex``."""
    depth, start, index = 0, -1, 0
    while index < len(regex):
        char = regex[index]
        if char == "\\":
            index += 2
            continue
        if char == "(":
            if start < 0 and not regex.startswith("(?", index):
                start, depth = index, 0
            depth += 1
        elif char == ")" and start >= 0:
            depth -= 1
            if depth == 0:
                return start, index
        index += 1
    return None


def invert_rule(lfn: str, pfn: str, chain: str | None = None) -> Rule | None:
    """The pfn-to-lfn rule undoing ``lfn`` -> ``pfn``, or None when it cannot be derived."""
    try:
        groups = re.compile(lfn).groups
    except re.error:
        return None
    if groups != 1 or pfn.count("$1") != 1 or re.search(r"\$[02-9]|\{\d+\}", pfn):
        return None
    span = _group_span(lfn)
    if span is None:
        return None
    start, end = span
    before, after = _literal(lfn[:start]), _literal(lfn[end + 1 :])
    if before is None or after is None:
        return None
    inner = lfn[start + 1 : end]
    pfn_before, _, pfn_after = pfn.partition("$1")
    pattern = f"{re.escape(pfn_before)}({inner}){re.escape(pfn_after)}"
    return Rule(pattern, f"{before}$1{after}", chain=chain)


def _entry(raw: object) -> ProtocolEntry:
    if not isinstance(raw, dict):
        raise ConfigurationError(f"a protocol entry must be an object, not {raw!r:.80}")
    protocol = raw.get("protocol")
    if not isinstance(protocol, str):
        raise ConfigurationError(f"protocol entry without a protocol name: {raw!r:.200}")
    default_chain = raw.get("chain")
    rules_raw = raw.get("rules", [])
    if not isinstance(rules_raw, list):
        raise ConfigurationError(f"protocol {protocol!r}: rules must be a list")
    rules = []
    for rule in rules_raw:
        if not isinstance(rule, dict) or not {"lfn", "pfn"} <= set(rule):
            raise ConfigurationError(
                f"protocol {protocol!r}: a rule must be an object with lfn and pfn, "
                f"not {rule!r:.120}"
            )
        chain = rule.get("chain", default_chain)
        if chain is not None and not isinstance(chain, str):
            raise ConfigurationError(f"protocol {protocol!r}: chain must be a protocol name")
        rules.append((str(rule["lfn"]), str(rule["pfn"]), chain))
    prefix = raw.get("prefix")
    if prefix is not None and not isinstance(prefix, str):
        raise ConfigurationError(f"protocol {protocol!r}: prefix must be a string")
    if prefix is None and not rules:
        raise ConfigurationError(f"protocol {protocol!r} has neither prefix nor rules")
    return ProtocolEntry(
        protocol, str(raw.get("access", "")), prefix, tuple(rules), str(raw.get("comment", ""))
    )


def _catalog(entries: Sequence[ProtocolEntry]) -> TrivialFileCatalog:
    forward: list[tuple[str, Rule]] = []
    backward: list[tuple[str, Rule]] = []
    for entry in entries:
        if entry.prefix is not None:
            forward.append((entry.protocol, Rule("/?(.*)", entry.prefix + "/$1")))
            backward.append((entry.protocol, Rule(re.escape(entry.prefix + "/") + "(.*)", "/$1")))
        for lfn, pfn, chain in entry.rules:
            forward.append((entry.protocol, Rule(lfn, pfn, chain=chain)))
            inverse = invert_rule(lfn, pfn, chain)
            if inverse is not None:
                backward.append((entry.protocol, inverse))
    return TrivialFileCatalog(forward, backward)


def _volume(raw: dict[str, Any]) -> StorageVolume:
    try:
        site, volume = str(raw["site"]), str(raw["volume"])
        protocols = raw["protocols"]
    except KeyError as exc:
        raise ConfigurationError(f"storage.json volume lacks {exc}: {raw!r:.200}") from exc
    if not isinstance(protocols, list):
        raise ConfigurationError(f"{site} {volume}: protocols must be a list")
    fts = raw.get("fts", [])
    if not isinstance(fts, list):
        raise ConfigurationError(f"{site} {volume}: fts must be a list")
    try:
        entries = tuple(_entry(p) for p in protocols)
        catalog = _catalog(entries)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{site} {volume}: {exc}") from exc
    except re.error as exc:
        raise ConfigurationError(
            f"{site} {volume}: a rule is not a regular expression: {exc}"
        ) from exc
    return StorageVolume(
        site, volume, str(raw.get("type", "")), raw.get("rse"), tuple(fts),
        entries, catalog,
    )  # fmt: skip


class StorageDescription:
    """All volumes of one storage.json, with look-up by site, volume and protocol."""

    def __init__(self, volumes: Sequence[StorageVolume]) -> None:
        self.volumes = tuple(volumes)

    def volume(
        self, *, site: str | None = None, volume: str | None = None, protocol: str | None = None
    ) -> StorageVolume:
        """The first volume matching every given criterion (a protocol it has rules for)."""
        for candidate in self.volumes:
            if site is not None and candidate.site != site:
                continue
            if volume is not None and candidate.volume != volume:
                continue
            if protocol is not None and protocol not in candidate.catalog.protocols():
                continue
            return candidate
        wanted = ", ".join(
            f"{k}={v!r}"
            for k, v in (("site", site), ("volume", volume), ("protocol", protocol))
            if v
        )
        raise ConfigurationError(f"storage.json has no volume with {wanted or 'anything'}")


def parse_storage_json(text: str) -> StorageDescription:
    """The description in ``text``; ConfigurationError if it is not a storage.json."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"storage.json is not valid JSON: {exc}") from exc
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not all(isinstance(v, dict) for v in data):
        raise ConfigurationError("storage.json must be a list of volume objects")
    return StorageDescription([_volume(v) for v in data])


def load_storage_json(path: str | Path) -> StorageDescription:
    """The description in the storage.json file at ``path``."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"{path}: cannot read: {exc.strerror}") from exc
    return parse_storage_json(text)
