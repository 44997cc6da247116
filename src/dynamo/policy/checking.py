"""Detection of the kind of a policy file and whole-file checks (``dynamo policy check``)."""

from __future__ import annotations

import json
import re
from enum import StrEnum

from dynamo.policy.enforcer import parse_enforcer_rules, parse_site_conditions
from dynamo.policy.errors import Diagnostic
from dynamo.policy.partitions import parse_partitions
from dynamo.policy.policyfile import KEYWORDS, parse_policy, significant_lines

__all__ = ["FileKind", "check_text", "detect_kind"]

_DEFINITION = re.compile(r"\s*[^\s:][^:]*:\s*\S")


class FileKind(StrEnum):
    DETOX = "detox"
    PARTITIONS = "partitions"
    ENFORCER = "enforcer"
    DEALER = "dealer"


def detect_kind(text: str, file: str = "") -> FileKind:
    """JSON with ``rules`` is enforcer rules, other JSON a dealer/file-operation config; text
    whose first statement is ``Name: ...`` (not a keyword) is a partitions file, else Detox."""
    stripped = text.lstrip()
    if file.endswith(".json") or stripped.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            return FileKind.ENFORCER
        return FileKind.ENFORCER if isinstance(data, dict) and "rules" in data else FileKind.DEALER
    lines = significant_lines(text)
    if lines:
        first_word = lines[0][1].split()[0]
        if first_word not in KEYWORDS and _DEFINITION.match(lines[0][1]):
            return FileKind.PARTITIONS
    return FileKind.DETOX


def check_text(text: str, *, file: str, kind: FileKind | None = None) -> list[Diagnostic]:
    """Parse ``text`` as ``kind`` (detected when None); warnings returned, errors raised."""
    diagnostics: list[Diagnostic] = []
    match kind or detect_kind(text, file):
        case FileKind.DETOX:
            parse_policy(text, file=file, diagnostics=diagnostics)
        case FileKind.PARTITIONS:
            parse_partitions(text, file=file, diagnostics=diagnostics)
        case FileKind.ENFORCER:
            parse_enforcer_rules(text, file=file)
        case FileKind.DEALER:
            parse_site_conditions(text, file=file)
    return diagnostics
