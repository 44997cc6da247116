"""Fuzzing of what Dynamo reads from files people write: the policy language, partitions,
enforcer rules, CMS storage.xml and storage.json. Whatever the input (random text, or a real
file cut, spliced and garbled), a parser either returns or raises its own typed error that
says what and where; never another exception.

The seeds are real files (tests/fixtures: the CMS policies, WMCore TFCs and storage.json).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dynamo.errors import DynamoError
from dynamo.policy import load_partitions, parse_enforcer_rules, parse_policy
from dynamo.policy.errors import PolicyError
from dynamo.storage.storage_json import parse_storage_json
from dynamo.storage.tfc import parse_storage_xml

FIXTURES = Path(__file__).parents[2] / "fixtures"
POLICIES = FIXTURES / "policies" / "dynamo-policies"
POLICY_TEXTS = [p.read_text() for p in sorted((POLICIES / "detox").glob("*.txt"))]
PARTITIONS = (POLICIES / "partitions.txt").read_text()
TFC_TEXTS = [p.read_text() for p in sorted((FIXTURES / "tfc" / "WMCore").glob("*Catalog.xml"))]
STORAGE_JSON = [
    (FIXTURES / "tfc" / "own" / "storage.json").read_text(),
    (FIXTURES / "tfc" / "WMCore" / "T1_DE_KIT" / "storage.json").read_text(),
]
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def garbled(draw: st.DrawFn, seeds: list[str]) -> str:
    """A real file cut, spliced with another piece of it, and sprinkled with characters."""
    text = draw(st.sampled_from(seeds))
    start = draw(st.integers(0, len(text)))
    end = draw(st.integers(start, len(text)))
    insert_at = draw(st.integers(0, len(text)))
    noise = draw(st.text(alphabet=st.characters(codec="utf-8"), max_size=12))
    piece = text[start:end]
    return text[:insert_at] + noise + piece + text[insert_at + len(piece) // 2 :]


def _error_of(parse: Callable[[str], object], text: str) -> DynamoError | None:
    """The typed error ``parse`` raised on ``text``, or None; any other exception escapes."""
    try:
        parse(text)
    except DynamoError as exc:
        return exc
    return None


ANY_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=300)


@FUZZ
@given(st.one_of(garbled(POLICY_TEXTS), ANY_TEXT))
def test_the_policy_parser_returns_or_says_where(text: str) -> None:
    error = _error_of(lambda t: parse_policy(t, file="fuzz.txt"), text)
    assert error is None or (isinstance(error, PolicyError) and "fuzz.txt" in str(error))


@FUZZ
@given(st.one_of(garbled([PARTITIONS]), ANY_TEXT))
def test_the_partitions_parser_returns_or_raises_its_error(text: str) -> None:
    error = _error_of(lambda t: load_partitions(t, file="partitions.txt"), text)
    assert error is None or (isinstance(error, PolicyError) and "partitions.txt" in str(error))


@FUZZ
@given(ANY_TEXT)
def test_the_enforcer_rules_parser_returns_or_raises_its_error(text: str) -> None:
    error = _error_of(lambda t: parse_enforcer_rules(t, file="rules.json"), text)
    assert error is None or str(error)


@FUZZ
@given(st.one_of(garbled(TFC_TEXTS), ANY_TEXT))
def test_the_storage_xml_importer_returns_or_raises_a_configuration_error(text: str) -> None:
    error = _error_of(parse_storage_xml, text)
    assert error is None or error.code == "configuration"


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "site",
                    "volume",
                    "protocols",
                    "protocol",
                    "prefix",
                    "rules",
                    "lfn",
                    "pfn",
                    "chain",
                    "access",
                    "type",
                    "rse",
                    "x",
                ]
            ),
            children,
            max_size=5,
        )
    ),
    max_leaves=20,
)


@FUZZ
@given(st.one_of(garbled(STORAGE_JSON), JSON_VALUES.map(json.dumps), ANY_TEXT))
def test_the_storage_json_importer_returns_or_raises_a_configuration_error(text: str) -> None:
    error = _error_of(parse_storage_json, text)
    assert error is None or error.code == "configuration"
