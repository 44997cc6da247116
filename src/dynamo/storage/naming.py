"""LFN->PFN translation: compiled (regex -> pattern) rules, chains of them, and the errors.

A rule's pattern must match the *whole* name (``re.fullmatch``, as CMSSW's FileLocator does);
its result names the groups either as ``$1``, ``$2``, ... (TFC and storage.json) or as ``{0}``,
``{1}``, ... (the original Dynamo's ``filename_mapping``, where ``{0}`` is the first group). A
group that did not take part in the match substitutes as the empty string.

:class:`FilenameMapping` is the original Dynamo's per-site mapping: per protocol, a list of
chains; a chain is a sequence of rules applied one after the other, and the first chain whose
every rule matches gives the answer. TFC catalogs (:mod:`dynamo.storage.tfc`) use the same
compiled rules with their own chaining by protocol name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from dynamo.errors import ConfigurationError, DynamoError

__all__ = [
    "Catalog",
    "FilenameMapping",
    "NoMatchingRuleError",
    "PfnTranslationError",
    "Rule",
    "RuleChain",
    "UnknownProtocolError",
    "compile_template",
]

_PLACEHOLDER = re.compile(r"\$(\d+)|\{(\d+)\}")


class PfnTranslationError(DynamoError, LookupError):
    """A name could not be translated."""

    code = "pfn_translation"


class UnknownProtocolError(PfnTranslationError):
    """The catalog has no rule at all for the protocol."""

    code = "unknown_protocol"

    def __init__(self, protocol: str, known: Iterable[str]) -> None:
        self.protocol = protocol
        names = ", ".join(sorted(known)) or "none"
        super().__init__(f"no rules for protocol {protocol!r} (known: {names})")


class NoMatchingRuleError(PfnTranslationError):
    """No rule of the protocol matches the name."""

    code = "no_matching_rule"

    def __init__(self, name: str, protocol: str, direction: str = "lfn-to-pfn") -> None:
        self.name = name
        self.protocol = protocol
        super().__init__(f"no {direction} rule of protocol {protocol!r} matches {name!r}")


def compile_template(template: str) -> tuple[str, tuple[int, ...]]:
    """Split a result template into a ``str.format`` string and the group numbers it uses.

    ``"root://h//store/$1"`` -> ``("root://h//store/{}", (1,))``; ``"/a/{0}/{1}"`` uses the
    original Dynamo's numbering, so it becomes groups ``(1, 2)``.
    """
    parts: list[str] = []
    groups: list[int] = []
    position = 0
    for found in _PLACEHOLDER.finditer(template):
        parts.append(template[position : found.start()].replace("{", "{{").replace("}", "}}"))
        dollar, brace = found.groups()
        groups.append(int(dollar) if dollar is not None else int(brace) + 1)
        parts.append("{}")
        position = found.end()
    parts.append(template[position:].replace("{", "{{").replace("}", "}}"))
    return "".join(parts), tuple(groups)


class Rule:
    """One (regex -> result) rewrite, compiled once.

    ``apply(name)`` returns the rewritten name, or None when ``pattern`` does not match all of
    ``name``. ``chain`` and ``destination_match`` are carried for TFC rules.
    """

    __slots__ = (
        "_fullmatch",
        "_groups",
        "chain",
        "destination_match",
        "format",
        "pattern",
        "result",
    )

    def __init__(
        self,
        pattern: str,
        result: str,
        *,
        chain: str | None = None,
        destination_match: str | None = None,
    ) -> None:
        try:
            compiled = re.compile(pattern)
            self.destination_match = (
                re.compile(destination_match) if destination_match is not None else None
            )
        except re.error as exc:
            raise ConfigurationError(f"bad regular expression {pattern!r}: {exc}") from exc
        self.pattern = pattern
        self.result = result
        self.chain = chain or None
        self.format, self._groups = compile_template(result)
        if self._groups and max(self._groups) > compiled.groups:
            raise ConfigurationError(
                f"result {result!r} names group {max(self._groups)} but {pattern!r} has "
                f"{compiled.groups}"
            )
        self._fullmatch = compiled.fullmatch

    def matches_destination(self, destination: str) -> bool:
        """True when the rule applies for ``destination`` (always, without destination-match)."""
        return self.destination_match is None or bool(self.destination_match.fullmatch(destination))

    def apply(self, name: str) -> str | None:
        """``name`` rewritten by this rule, or None when the pattern does not match it whole."""
        found = self._fullmatch(name)
        if found is None:
            return None
        if not self._groups:
            return self.format
        return self.format.format(*[found.group(i) or "" for i in self._groups])

    def __repr__(self) -> str:
        chain = f", chain={self.chain!r}" if self.chain else ""
        return f"Rule({self.pattern!r}, {self.result!r}{chain})"


class RuleChain:
    """Rules applied in sequence; the chain matches when every rule matches in turn."""

    __slots__ = ("rules",)

    def __init__(self, rules: Sequence[Rule | tuple[str, str]]) -> None:
        self.rules = tuple(r if isinstance(r, Rule) else Rule(r[0], r[1]) for r in rules)

    def apply(self, name: str) -> str | None:
        """``name`` through every rule, or None as soon as one does not match."""
        current: str | None = name
        for rule in self.rules:
            current = rule.apply(current)  # type: ignore[arg-type]
            if current is None:
                return None
        return current


class Catalog(Protocol):
    """Anything that translates names for a site: a FilenameMapping, a TFC, a storage.json."""

    def protocols(self) -> frozenset[str]:
        """The protocols with at least one rule."""
        ...

    def to_pfn(self, lfn: str, protocol: str, *, destination: str = "") -> str:
        """The PFN of ``lfn``; UnknownProtocolError or NoMatchingRuleError otherwise."""
        ...

    def to_lfn(self, pfn: str, protocol: str, *, destination: str = "") -> str:
        """The LFN of ``pfn``; UnknownProtocolError or NoMatchingRuleError otherwise."""
        ...


class FilenameMapping:
    """The original Dynamo's ``Site.filename_mapping``: per protocol, chains tried in order.

    ``FilenameMapping({"root": [[("/store/(.*)", "root://host//data/store/{0}")]]})``. The
    reverse direction takes its own chains (``reverse=``), since regexes do not invert.
    """

    def __init__(
        self,
        forward: Mapping[str, Sequence[Sequence[Rule | tuple[str, str]]]],
        *,
        reverse: Mapping[str, Sequence[Sequence[Rule | tuple[str, str]]]] | None = None,
    ) -> None:
        self._forward = {p: tuple(RuleChain(c) for c in chains) for p, chains in forward.items()}
        self._reverse = {
            p: tuple(RuleChain(c) for c in chains) for p, chains in (reverse or {}).items()
        }

    def protocols(self) -> frozenset[str]:
        return frozenset(self._forward)

    @staticmethod
    def _map(
        table: Mapping[str, tuple[RuleChain, ...]], name: str, protocol: str, direction: str
    ) -> str:
        try:
            chains = table[protocol]
        except KeyError:
            raise UnknownProtocolError(protocol, table) from None
        for chain in chains:
            mapped = chain.apply(name)
            if mapped is not None:
                return mapped
        raise NoMatchingRuleError(name, protocol, direction)

    def to_pfn(self, lfn: str, protocol: str, *, destination: str = "") -> str:
        return self._map(self._forward, lfn, protocol, "lfn-to-pfn")

    def to_lfn(self, pfn: str, protocol: str, *, destination: str = "") -> str:
        return self._map(self._reverse, pfn, protocol, "pfn-to-lfn")
