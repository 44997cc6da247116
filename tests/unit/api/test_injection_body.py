"""The direct reading of common injection bodies against the models it stands in for.

Whatever the body, the direct reading either leaves it to the models (None) or gives exactly
the Injection the models give; the models must accept every body it takes. Bodies: the
fuzzer's (hostile values, any JSON) and common-shape bodies with one value now and then
replaced by a near miss (a case, a length, a type, a character at the edge of a pattern).
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from dynamo.api.routes.inject import InjectionIn, _injection
from dynamo.api.routes.injection_body import fast_injection
from dynamo.server.injection import Injection
from unit.fuzz.test_injection_json import ANY_JSON, INJECTIONS, VALID


def by_models(data: Any) -> Injection | None:
    try:
        return _injection(InjectionIn.model_validate(data))
    except ValidationError:
        return None


ASCII = st.characters(min_codepoint=33, max_codepoint=126)
NAME = st.text(ASCII, min_size=1, max_size=10)
LABEL = st.builds(lambda a, b: f"{a} {b}", NAME, NAME) | NAME
INT = st.integers(min_value=0, max_value=2**40)
ENUM = st.sampled_from(["mc", "MC", "Mc", "data", "VALID", "deprecated"])
RELEASE = st.sampled_from(["10_6_4", "10_6_4_patch1", "1_2_3_A9", "123456_1_1"])
ADLER = st.sampled_from(["", "0a0b0c0d", "ffffffff"])

FILE = st.fixed_dictionaries({"lfn": NAME, "size": INT}, optional={"adler32": ADLER})
BLOCK = st.fixed_dictionaries(
    {"name": NAME},
    optional={"is_open": st.booleans(), "files": st.lists(FILE, min_size=1, max_size=3)},
)
DATASET = st.fixed_dictionaries(
    {"name": NAME},
    optional={
        "status": st.none() | ENUM,
        "data_type": st.none() | ENUM,
        "software_version": st.none() | RELEASE,
        "is_open": st.none() | st.booleans(),
        "blocks": st.lists(BLOCK, min_size=1, max_size=2),
    },
)
BLOCK_REPLICA = st.fixed_dictionaries(
    {"block": NAME},
    optional={
        "group": st.none() | LABEL,
        "is_custodial": st.booleans(),
        "present": st.none() | st.fixed_dictionaries({"size": INT, "num_files": INT}),
    },
)
REPLICA = st.fixed_dictionaries(
    {"dataset": NAME, "site": LABEL},
    optional={
        "group": st.none() | LABEL,
        "growing": st.booleans(),
        "block_replicas": st.lists(BLOCK_REPLICA, min_size=1, max_size=2),
    },
)
COMMON = st.fixed_dictionaries(
    {
        "datasets": st.lists(DATASET, min_size=1, max_size=2),
        "dataset_replicas": st.lists(REPLICA, min_size=1, max_size=2),
    },
    optional={
        "groups": st.just([]),
        "sites": st.just([]),
    },
)
"""Bodies of the common shape, every value valid."""

NAME_MISSES = ["", "a b", " a", "a ", "a\n", "a\t", "\u00e9", "a\x1cb", "a\x00", "\u3000", None, 1]
INT_MISSES = [-1, 0, 2**63 - 1, 2**63, 2**64, 1.0, True, "1", None]
BOOL_MISSES = [0, 1, "true", None]
ENUM_MISSES = ["bogus", "\u0131nvalid", "VAL\u0130D", "", 1, None]
MISSES: dict[str, list[Any]] = {
    "name": [*NAME_MISSES, "a#b", *("x" * n for n in (128, 129, 512, 513))],
    "dataset": [*NAME_MISSES, "a#b", "x" * 512, "x" * 513],
    "block": [*NAME_MISSES, "a#b", "x" * 128, "x" * 129],
    "lfn": [*NAME_MISSES, "a#b", "x" * 512, "x" * 513],
    "site": [*NAME_MISSES, "a#b", "x" * 64, "x" * 65, "a  b"],
    "group": [*NAME_MISSES, "a#b", "x" * 64, "x" * 65, "a  b"],
    "size": INT_MISSES,
    "num_files": INT_MISSES,
    "is_open": BOOL_MISSES,
    "growing": BOOL_MISSES,
    "is_custodial": BOOL_MISSES,
    "status": ENUM_MISSES,
    "data_type": ENUM_MISSES,
    "adler32": ["0A0B0C0D", "0a0b0c0", "0a0b0c0d0", "0a0b0c0g", " ", None, 1],
    "software_version": [
        *("10_6", "10_6_4_", "10_6_4_a_b", "1234567_1_1", "10_6_4\n", "\u0661_1_1"),
        *("10_6_4_p\u00e9", "10_6_4_" + "x" * 58, "10_6_4_" + "x" * 57, 4),
    ],
    "present": [{"size": 1}, {"size": 1, "num_files": 1, "x": 1}, [], 3, None],
    "groups": [[{"name": "G"}], {}, 0, False, None],
    "sites": [[{"name": "S"}], "", None],
}
"""Near misses per key: each is wrong there, or right but rarely seen."""
ANY_MISS = [{}, [], None, 0, "", [{}]]

EVERY_FIELD: dict[str, Any] = {
    "datasets": [
        {
            "name": "/A/B-v1/AOD",
            "data_type": "mc",
            "status": "VALID",
            "software_version": "10_6_4_patch1",
            "blocks": [
                {
                    "name": "b1",
                    "is_open": True,
                    "files": [{"lfn": "/store/a/1.root", "size": 5}],
                },
                {
                    "name": "b2",
                    "files": [{"lfn": "/store/a/2.root", "size": 0, "adler32": "0a0b0c0d"}],
                },
            ],
        }
    ],
    "dataset_replicas": [
        {
            "dataset": "/A/B-v1/AOD",
            "site": "T2_US_MIT",
            "group": "DataOps",
            "growing": True,
            "block_replicas": [
                {"block": "b1"},
                {
                    "block": "b2",
                    "group": "AnalysisOps",
                    "is_custodial": True,
                    "present": {"size": 1, "num_files": 1},
                },
            ],
        }
    ],
}
"""A common body with every field the direct reading takes."""


def _places(node: Any) -> list[tuple[Any, Any]]:
    """Every (container, key or index) in ``node``."""
    found: list[tuple[Any, Any]] = []
    keys = node.keys() if isinstance(node, dict) else range(len(node))
    for key in list(keys):
        found.append((node, key))
        if isinstance(node[key], dict | list):
            found += _places(node[key])
    return found


@st.composite
def one_miss(draw: st.DrawFn) -> Any:
    """A common body with one value replaced by a near miss, one key dropped or one added."""
    body = draw(COMMON)
    container, key = draw(st.sampled_from(_places(body)))
    action = draw(st.sampled_from(["replace", "replace", "replace", "drop", "add"]))
    if action == "replace":
        container[key] = draw(st.sampled_from(MISSES.get(key, ANY_MISS)))
    elif action == "drop" and isinstance(container, dict):
        del container[key]
    elif isinstance(container, dict):
        added = draw(st.sampled_from([*MISSES, "extra"]))
        container[added] = draw(st.sampled_from(MISSES.get(added, ANY_MISS)))
    return body


@settings(max_examples=1500, deadline=None)
@given(body=st.one_of(COMMON, one_miss(), one_miss(), INJECTIONS, ANY_JSON))
def test_the_direct_reading_takes_only_what_the_models_take_and_reads_it_alike(body: Any) -> None:
    fast = fast_injection(body)
    if fast is not None:
        assert fast == by_models(body)


def test_the_common_shape_is_read_directly() -> None:
    fast = fast_injection(EVERY_FIELD)
    assert fast is not None
    assert fast == by_models(EVERY_FIELD)


def test_every_near_miss_in_every_place_is_left_to_the_models_or_read_alike() -> None:
    checked = 0
    for key, misses in MISSES.items():
        for miss in misses:
            for path in _paths_of(EVERY_FIELD, key):
                body = copy.deepcopy(EVERY_FIELD)
                container = body
                for step in path[:-1]:
                    container = container[step]
                container[path[-1]] = miss
                fast = fast_injection(body)
                if fast is not None:
                    assert fast == by_models(body), (path, miss)
                checked += 1
    assert checked > 250


def _paths_of(node: Any, key: str, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The paths to every ``key`` in ``node`` (or where it could be added: every dict that
    has one of its siblings)."""
    found: list[tuple[Any, ...]] = []
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for k, value in items:
        if k == key:
            found.append((*path, k))
        if isinstance(value, dict | list):
            found += _paths_of(value, key, (*path, k))
    if isinstance(node, dict) and key not in node and key in ("groups", "sites") and not path:
        found.append((key,))
    return found


def test_groups_sites_and_the_fuzzers_valid_body_are_left_to_the_models() -> None:
    assert fast_injection(VALID) is None
    assert by_models(VALID) is not None
