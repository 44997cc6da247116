"""Enforcer rules and the dealer's site conditions (original-dynamo §3.6): JSON holding conditions.

Conditions inside JSON strings are parsed with the same machinery and errors point into the
JSON file (the line and column of the character inside the string).
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

from dynamo.policy.conditions import Context, parse_condition
from dynamo.policy.errors import PolicySyntaxError
from dynamo.policy.nodes import Condition
from dynamo.policy.partitions import parse_partition_condition

__all__ = [
    "EnforcerRule",
    "EnforcerRules",
    "SiteCondition",
    "compile_target_sites",
    "parse_enforcer_rules",
    "parse_site_conditions",
]

_SITE_CONDITION_LISTS = ("copy_op", "transfer", "deletion")


@dataclass(frozen=True, slots=True)
class EnforcerRule:
    """Keep ``num_copies`` of the replicas matching any of ``replicas`` at ``destinations``."""

    name: str
    replicas: tuple[Condition, ...]
    num_copies: int
    destinations: tuple[Condition, ...]
    sources: tuple[Condition, ...]
    destination_group: str | None = None
    protect: bool = False


@dataclass(frozen=True, slots=True)
class EnforcerRules:
    partition: str
    default_destination_group: str | None
    rules: tuple[EnforcerRule, ...]


@dataclass(frozen=True, slots=True)
class SiteCondition:
    """One ``[condition | null, backend...]`` entry of a dealer or file-operation config."""

    path: str
    condition: Condition | None
    backend: Any


class _JsonText:
    """Locates string literals in the JSON text to report errors at their position."""

    def __init__(self, text: str, file: str) -> None:
        self.text = text
        self.file = file
        self.cursor = 0

    def load(self) -> Any:
        try:
            return json.loads(self.text)
        except json.JSONDecodeError as exc:
            raise PolicySyntaxError(
                f"invalid JSON: {exc.msg}",
                file=self.file,
                line=exc.lineno,
                col=exc.colno,
                source_line=self.text.split("\n")[exc.lineno - 1],
            ) from exc

    def condition(self, value: object, context: Context, *, what: str) -> Condition:
        if not isinstance(value, str):
            self.fail(f"{what} must be a string condition, not {value!r}")
        encoded = json.dumps(value)[1:-1]
        found = self.text.find('"' + encoded + '"', self.cursor)
        if found < 0:
            found = self.text.find('"' + encoded + '"')
        self.cursor = max(found, 0) + 1
        line = self.text.count("\n", 0, max(found, 0)) + 1
        line_start = self.text.rfind("\n", 0, max(found, 0)) + 1
        col0 = max(found, 0) - line_start + 1
        try:
            if context is Context.REPLICA:
                return parse_partition_condition(value, file=self.file)
            return parse_condition(value, context=context, file=self.file)
        except PolicySyntaxError as exc:
            source = self.text.split("\n")[line - 1]
            raise exc.relocated(
                file=self.file, line=line, col_offset=col0, source_line=source
            ) from None

    def fail(self, message: str) -> NoReturn:
        raise PolicySyntaxError(message, file=self.file, line=1, col=1)


def _conditions(
    doc: _JsonText, values: object, context: Context, what: str
) -> tuple[Condition, ...]:
    if not isinstance(values, list):
        doc.fail(f"{what} must be a list of conditions")
    assert isinstance(values, list)
    return tuple(doc.condition(v, context, what=what) for v in values)


def parse_enforcer_rules(text: str, *, file: str = "<string>") -> EnforcerRules:
    """Parse an enforcer rules file (``{partition, default_destination_group, rules}``)."""
    doc = _JsonText(text, file)
    data = doc.load()
    if not isinstance(data, dict) or not isinstance(data.get("rules"), dict):
        doc.fail("an enforcer rules file is an object with a `rules` object")
    rules = []
    for name, body in data["rules"].items():
        if not isinstance(body, dict):
            doc.fail(f"rule {name!r} must be an object")
        copies = body.get("num_copies", 1)
        if not isinstance(copies, int) or copies < 0:
            doc.fail(f"rule {name!r}: num_copies must be a non-negative integer")
        rules.append(
            EnforcerRule(
                name=name,
                replicas=_conditions(doc, body.get("replicas", []), Context.REPLICA, "replicas"),
                num_copies=copies,
                destinations=_conditions(
                    doc, body.get("destinations", []), Context.SITE, "destinations"
                ),
                sources=_conditions(doc, body.get("sources", []), Context.SITE, "sources"),
                destination_group=body.get("destination_group"),
                protect=bool(body.get("protect", False)),
            )
        )
    return EnforcerRules(
        partition=str(data.get("partition", "")),
        default_destination_group=data.get("default_destination_group"),
        rules=tuple(rules),
    )


def parse_site_conditions(text: str, *, file: str = "<string>") -> tuple[SiteCondition, ...]:
    """Every site condition of a dealer or file-operation config.

    Found in lists named ``copy_op``, ``transfer`` or ``deletion`` (at any depth) whose entries
    are ``[condition | null, backend...]``; ``target_sites`` patterns are checked too.
    """
    doc = _JsonText(text, file)
    found: list[SiteCondition] = []

    def walk(node: object, path: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in _SITE_CONDITION_LISTS and isinstance(value, list):
                    for index, entry in enumerate(value):
                        if isinstance(entry, list) and entry:
                            condition = (
                                None
                                if entry[0] is None
                                else doc.condition(entry[0], Context.SITE, what=key)
                            )
                            found.append(
                                SiteCondition(f"{path}.{key}[{index}]", condition, entry[1:])
                            )
                elif key == "target_sites" and isinstance(value, list):
                    if not all(isinstance(p, str) for p in value):
                        doc.fail("target_sites must be a list of patterns")
                else:
                    walk(value, f"{path}.{key}")
        elif isinstance(node, list):
            for index, item in enumerate(node):
                walk(item, f"{path}[{index}]")

    walk(doc.load(), "$")
    return tuple(found)


def compile_target_sites(patterns: list[str]) -> Callable[[str], bool]:
    """The dealer's ``target_sites``: fnmatch patterns in order, ``!pattern`` vetoes, last wins."""

    def is_target(site: str) -> bool:
        verdict = False
        for pattern in patterns:
            veto = pattern.startswith("!")
            if fnmatch.fnmatchcase(site, pattern[1:] if veto else pattern):
                verdict = not veto
        return verdict

    return is_target
