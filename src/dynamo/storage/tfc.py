"""CMS Trivial File Catalogs: the ``storage.xml`` format, parsed into compiled rules.

The format (PhEDEx, WMCore, CMSSW)::

    <storage-mapping>
      <lfn-to-pfn protocol="direct" destination-match=".*" path-match="/+store/(.*)"
                  result="/data/store/$1"/>
      <lfn-to-pfn protocol="srmv2" chain="direct" path-match="/+(.*)"
                  result="srm://se:8443/srm/v2/server?SFN=/$1"/>
      <pfn-to-lfn protocol="srmv2" path-match=".*\\?SFN=/data/(.*)" result="/$1"/>
    </storage-mapping>

(possibly wrapped in a ``<phedex>`` element). Semantics:

- Rules of a protocol are tried in file order; the first that applies wins.
- ``path-match`` must match the whole name (as CMSSW's FileLocator); ``result`` names groups
  as ``$1``, ``$2``...
- ``destination-match`` must match the whole destination (default ``""``); without it a rule
  applies to every destination.
- ``chain="P"`` in lfn-to-pfn: the name is first translated by protocol P, and this rule's
  ``path-match`` is matched against P's output (as PhEDEx and WMCore do); if P has no answer or
  the rule does not match it, the next rule is tried. In pfn-to-lfn the order is reversed: the
  rule applies first, then P's pfn-to-lfn rules translate its output.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from collections.abc import Iterable, Mapping
from pathlib import Path

from dynamo.errors import ConfigurationError
from dynamo.storage.naming import NoMatchingRuleError, Rule, UnknownProtocolError

__all__ = ["TrivialFileCatalog", "load_storage_xml", "parse_storage_xml"]

_MAX_CHAIN_DEPTH = 16


def _group(rules: Iterable[tuple[str, Rule]]) -> dict[str, tuple[Rule, ...]]:
    table: dict[str, list[Rule]] = {}
    for protocol, rule in rules:
        table.setdefault(protocol, []).append(rule)
    return {protocol: tuple(found) for protocol, found in table.items()}


def _check_chains(table: Mapping[str, tuple[Rule, ...]], direction: str) -> None:
    """Every chain names a protocol of the same direction, and no chain loops."""

    def visit(protocol: str, trail: tuple[str, ...]) -> None:
        if protocol in trail:
            loop = " -> ".join((*trail, protocol))
            raise ConfigurationError(f"{direction} chain loops: {loop}")
        for rule in table.get(protocol, ()):
            if rule.chain is None:
                continue
            if rule.chain not in table:
                raise ConfigurationError(
                    f"{direction} rule {rule.pattern!r} of protocol {protocol!r} chains to "
                    f"{rule.chain!r}, which has no {direction} rules"
                )
            visit(rule.chain, (*trail, protocol))

    for protocol in table:
        visit(protocol, ())


class TrivialFileCatalog:
    """Compiled lfn-to-pfn and pfn-to-lfn rules by protocol (see the module docstring)."""

    def __init__(
        self,
        lfn_to_pfn: Iterable[tuple[str, Rule]],
        pfn_to_lfn: Iterable[tuple[str, Rule]] = (),
    ) -> None:
        self._direct = _group(lfn_to_pfn)
        self._inverse = _group(pfn_to_lfn)
        _check_chains(self._direct, "lfn-to-pfn")
        _check_chains(self._inverse, "pfn-to-lfn")

    def protocols(self) -> frozenset[str]:
        return frozenset(self._direct) | frozenset(self._inverse)

    def rules(self, protocol: str, *, reverse: bool = False) -> tuple[Rule, ...]:
        """The rules of ``protocol`` in one direction, in file order."""
        return (self._inverse if reverse else self._direct).get(protocol, ())

    def to_pfn(self, lfn: str, protocol: str, *, destination: str = "") -> str:
        rules = self._direct.get(protocol)
        if rules is None:
            raise UnknownProtocolError(protocol, self._direct)
        # The common case, no chains and no destination-match, without the recursion.
        for rule in rules:
            if rule.chain is not None or rule.destination_match is not None:
                break
            pfn = rule.apply(lfn)
            if pfn is not None:
                return pfn
        else:
            raise NoMatchingRuleError(lfn, protocol)
        pfn = self._forward(protocol, lfn, destination, 0)
        if pfn is None:
            raise NoMatchingRuleError(lfn, protocol)
        return pfn

    def to_lfn(self, pfn: str, protocol: str, *, destination: str = "") -> str:
        if protocol not in self._inverse:
            raise UnknownProtocolError(protocol, self._inverse)
        lfn = self._backward(protocol, pfn, destination, 0)
        if lfn is None:
            raise NoMatchingRuleError(pfn, protocol, "pfn-to-lfn")
        return lfn

    def _forward(self, protocol: str, name: str, destination: str, depth: int) -> str | None:
        if depth > _MAX_CHAIN_DEPTH:  # pragma: no cover - loops are refused at construction
            return None
        for rule in self._direct.get(protocol, ()):
            if rule.destination_match is not None and not rule.matches_destination(destination):
                continue
            current: str | None = name
            if rule.chain is not None:
                current = self._forward(rule.chain, name, destination, depth + 1)
                if current is None:
                    continue
            result = rule.apply(current)  # type: ignore[arg-type]
            if result is not None:
                return result
        return None

    def _backward(self, protocol: str, name: str, destination: str, depth: int) -> str | None:
        if depth > _MAX_CHAIN_DEPTH:  # pragma: no cover - loops are refused at construction
            return None
        for rule in self._inverse.get(protocol, ()):
            if rule.destination_match is not None and not rule.matches_destination(destination):
                continue
            result = rule.apply(name)
            if result is None:
                continue
            if rule.chain is None:
                return result
            chained = self._backward(rule.chain, result, destination, depth + 1)
            if chained is not None:
                return chained
        return None


def _rule(element: ElementTree.Element) -> tuple[str, Rule]:
    attributes = element.attrib
    protocol, pattern = attributes.get("protocol"), attributes.get("path-match")
    result = attributes.get("result")
    if protocol is None or pattern is None or result is None:
        shown = " ".join(f'{k}="{v}"' for k, v in attributes.items())
        raise ConfigurationError(
            f"<{element.tag} {shown}> needs protocol, path-match and result attributes"
        )
    rule = Rule(
        pattern,
        result,
        chain=attributes.get("chain"),
        destination_match=attributes.get("destination-match"),
    )
    return protocol, rule


def parse_storage_xml(text: str) -> TrivialFileCatalog:
    """The catalog in ``text`` (a ``storage.xml``); ConfigurationError if it is malformed."""
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as exc:
        raise ConfigurationError(f"storage.xml is not well-formed XML: {exc}") from exc
    forward = [_rule(e) for e in root.iter("lfn-to-pfn")]
    backward = [_rule(e) for e in root.iter("pfn-to-lfn")]
    if not forward and not backward:
        raise ConfigurationError("storage.xml has no lfn-to-pfn or pfn-to-lfn rules")
    return TrivialFileCatalog(forward, backward)


def load_storage_xml(path: str | Path) -> TrivialFileCatalog:
    """The catalog in the ``storage.xml`` file at ``path``."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"{path}: cannot read: {exc.strerror}") from exc
    return parse_storage_xml(text)
