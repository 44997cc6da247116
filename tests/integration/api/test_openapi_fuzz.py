"""schemathesis against the OpenAPI document: no 5xx and no response outside the schema.

The app runs in-process over a real SQLite store with a small inventory; writes go through
the test authenticator, so generated bodies reach validation and the store. Two ways:
every operation alone, and sequences of operations chained by the links schemathesis infers
from the document (a lock taken, then read, released, listed; a request made, then read and
cancelled; a user dataset completed, then read...), so the calls reach real objects.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from doubles import HeaderTestAuthenticator, toy_compiler
from dynamo.api.app import create_app
from dynamo.server.service import InventoryService
from dynamo.store import SqlInventoryStore
from unit.model.conftest import base_ops

OPERATOR = {"x-test-dn": "/DC=ch/DC=cern/CN=Fuzzer", "x-test-grants": "operator:inventory"}
EVERYTHING = {
    "x-test-dn": "/DC=ch/DC=cern/CN=fuzzer",
    "x-test-grants": ",".join(
        f"operator:{target}" for target in ("inventory", "registry", "application", "popularity")
    )
    + ",user:userdata",
}
"""An operator everywhere and a user-data user (named ``fuzzer``): the workflows reach every
write."""


def _app(directory: Path) -> object:
    store = SqlInventoryStore.open(f"sqlite:///{directory}/fuzz.sqlite", upgrade=True)
    service = InventoryService.load(store, partition_compiler=toy_compiler)
    store.commit(base_ops(), service.inventory)
    return create_app(
        InventoryService.load(store, partition_compiler=toy_compiler),
        authenticator=HeaderTestAuthenticator(),
    )


_directory = Path(__import__("tempfile").mkdtemp(prefix="dynamo-fuzz-"))
schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", _app(_directory))


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_no_generated_request_gets_a_5xx_or_breaks_the_schema(case: schemathesis.Case) -> None:
    # A well-formed request naming objects that do not exist is rightly a 400 or 404, so the
    # check that every schema-valid request succeeds is left out; every other check runs.
    case.call_and_validate(headers=OPERATOR, excluded_checks=[positive_data_acceptance])


class Workflow(schema.as_state_machine()):  # type: ignore[misc]
    """Chained calls over the inferred links, as an operator everywhere."""

    def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, object]:
        return {"headers": EVERYTHING}

    def validate_response(  # type: ignore[override]
        self, response: object, case: schemathesis.Case, **kwargs: object
    ) -> None:
        case.validate_response(response, excluded_checks=[positive_data_acceptance])


TestWorkflow = Workflow.TestCase
TestWorkflow.settings = settings(
    max_examples=15,
    stateful_step_count=6,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
