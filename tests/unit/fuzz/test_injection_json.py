"""Fuzzing of the injection JSON: ``POST /api/v1/inject`` and ``/invalidate`` bodies, and the
ChangeSet JSON format of ``dynamo inject FILE``.

Bodies are drawn three ways: injections shaped like the real ones but with hostile values
(``..``, empty, huge, control characters, wrong types, unknown sites and blocks), a valid
injection cut, spliced and garbled as raw text, and arbitrary JSON. Whatever arrives, the
server answers 200 or a JSON error it declares (400, 404, 409), never a 5xx; and after every
request the inventory it holds in memory is exactly what its database holds (nothing half
applied). The app runs in-process over a SQLite store with a small inventory.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from doubles import HeaderTestAuthenticator, toy_compiler
from dynamo.api.app import create_app
from dynamo.errors import ChangeSetFormatError
from dynamo.model import ChangeSet, describe
from dynamo.server.service import InventoryService
from dynamo.store import SqlInventoryStore
from unit.model.conftest import BLOCK, DATASET, base_ops

from .test_parsers import garbled

OPERATOR = {"X-Test-DN": "/DC=ch/DC=cern/CN=Fuzzer", "X-Test-Grants": "operator:inventory"}
DECLARED = {200, 400, 404, 409}
FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
VALID = {
    "sites": [{"name": "T2_CH_CERN", "storage_type": "DISK"}],
    "groups": [{"name": "AnalysisOps"}],
    "datasets": [
        {
            "name": "/Fuzz/Run2026A-v1/RAW",
            "data_type": "data",
            "software_version": "10_6_4_patch1",
            "blocks": [
                {
                    "name": "0001",
                    "files": [{"lfn": "/store/data/fuzz/1.root", "size": 10}],
                }
            ],
        }
    ],
    "dataset_replicas": [
        {
            "dataset": "/Fuzz/Run2026A-v1/RAW",
            "site": "T2_US_MIT",
            "group": "AnalysisOps",
            "block_replicas": [{"block": "0001", "present": {"size": 5, "num_files": 1}}],
        }
    ],
}

HOSTILE = st.sampled_from(
    [
        "",
        " ",
        "..",
        "/",
        "/../../etc/passwd",
        "%2F..%2F",
        "a\x00b",
        "\u202e",
        "x" * 600,
        DATASET,
        BLOCK,
        "T2_US_MIT",
        "AnalysisOps",
        "DISK",
        "VALID",
    ]
)
TEXT = st.one_of(HOSTILE, st.text(max_size=30))
SCALAR = st.one_of(
    TEXT,
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
)
ANY_JSON = st.recursive(
    SCALAR,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=12,
)


def _object(required: dict[str, Any], optional: dict[str, Any]) -> st.SearchStrategy[Any]:
    """A dict with those keys (each value drawn), or now and then any JSON instead."""
    return st.one_of(
        st.fixed_dictionaries(required, optional=optional),
        st.fixed_dictionaries(required, optional=optional).map(lambda d: {**d, "extra": 1}),
        ANY_JSON,
    )


FILES = st.lists(_object({"lfn": TEXT, "size": SCALAR}, {"adler32": SCALAR}), max_size=3)
BLOCKS = st.lists(_object({"name": TEXT}, {"is_open": SCALAR, "files": FILES}), max_size=3)
INJECTIONS = st.fixed_dictionaries(
    {},
    optional={
        "sites": st.lists(_object({"name": TEXT}, {"storage_type": SCALAR}), max_size=2),
        "groups": st.lists(_object({"name": TEXT}, {"olevel": SCALAR}), max_size=2),
        "datasets": st.lists(
            _object(
                {"name": TEXT},
                {"status": SCALAR, "data_type": SCALAR, "software_version": SCALAR},
            )
            | st.fixed_dictionaries({"name": TEXT, "blocks": BLOCKS}),
            max_size=3,
        ),
        "dataset_replicas": st.lists(
            _object(
                {"dataset": TEXT, "site": TEXT},
                {
                    "group": TEXT,
                    "growing": SCALAR,
                    "block_replicas": st.lists(
                        _object({"block": TEXT}, {"present": ANY_JSON, "group": TEXT}), max_size=2
                    ),
                },
            ),
            max_size=2,
        ),
    },
)
REFS = _object({"dataset": TEXT, "block": TEXT}, {"lfn": TEXT, "site": TEXT})
INVALIDATIONS = st.fixed_dictionaries(
    {},
    optional={
        "datasets": st.lists(TEXT, max_size=2),
        "blocks": st.lists(REFS, max_size=2),
        "files": st.lists(REFS, max_size=2),
        "dataset_replicas": st.lists(REFS, max_size=2),
        "block_replicas": st.lists(REFS, max_size=2),
    },
)


class Served:
    """The app in-process over a SQLite store, called from a loop of its own (one loop for
    every example: the service's locks belong to it)."""

    def __init__(self, directory: Path) -> None:
        self.store = SqlInventoryStore.open(f"sqlite:///{directory}/fuzz.sqlite", upgrade=True)
        service = InventoryService.load(self.store, partition_compiler=toy_compiler)
        self.store.commit(base_ops(), service.inventory)
        self.service = InventoryService.load(self.store, partition_compiler=toy_compiler)
        app = create_app(self.service, authenticator=HeaderTestAuthenticator())
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        self.client = httpx.AsyncClient(transport=transport, base_url="http://fuzz")

    def post(self, path: str, content: bytes) -> httpx.Response:
        headers = {**OPERATOR, "Content-Type": "application/json"}
        call = self.client.post(f"/api/v1/{path}", content=content, headers=headers)
        return asyncio.run_coroutine_threadsafe(call, self.loop).result(timeout=120)

    def check_consistent(self) -> None:
        """The inventory in memory is the one in the database."""
        loaded, _ = self.store.load(partition_compiler=toy_compiler)
        assert describe(loaded) == describe(self.service.inventory)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.client.aclose(), self.loop).result(timeout=60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=60)
        self.loop.close()
        self.store.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    made = Served(tmp_path_factory.mktemp("injection-fuzz"))
    yield made
    made.close()


def _post(served: Served, path: str, content: bytes) -> None:
    answer = served.post(path, content)
    event(f"{path}: {answer.status_code}")
    assert answer.status_code in DECLARED, (answer.status_code, content[:300], answer.text)
    if answer.status_code != 200:
        assert set(answer.json()["error"]) >= {"code", "message"}
    served.check_consistent()


@FUZZ
@given(body=st.one_of(INJECTIONS, ANY_JSON))
def test_any_injection_is_applied_whole_or_refused(served: Served, body: Any) -> None:
    _post(served, "inject", json.dumps(body).encode())


@FUZZ
@given(body=st.one_of(INVALIDATIONS, ANY_JSON))
def test_any_invalidation_is_applied_whole_or_refused(served: Served, body: Any) -> None:
    _post(served, "invalidate", json.dumps(body).encode())


@FUZZ
@given(text=garbled([json.dumps(VALID, indent=1)]))
def test_a_garbled_injection_text_is_applied_whole_or_refused(served: Served, text: str) -> None:
    _post(served, "inject", text.encode("utf-8", "surrogatepass"))


CHANGESET_TEXT = base_ops().to_json().decode()


@FUZZ
@given(text=st.one_of(garbled([CHANGESET_TEXT]), ANY_JSON.map(json.dumps)))
def test_the_changeset_format_parses_or_says_why(text: str) -> None:
    with contextlib.suppress(ChangeSetFormatError):
        ChangeSet.from_json(text)
