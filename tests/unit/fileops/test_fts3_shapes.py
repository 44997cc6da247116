"""The FTS3 client and backend against fts-rest's documented JSON (tests/fixtures/fts-rest),
with ``httpx.MockTransport`` in place of the network."""

from __future__ import annotations

import errno
import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from dynamo.fileops.fts3 import (
    Fts3Backend,
    deletion_job_request,
    errno_for_reason,
    file_result,
    transfer_job_request,
)
from dynamo.fileops.fts3_client import (
    Fts3AuthError,
    Fts3Client,
    Fts3ConnectionError,
    Fts3Error,
    Fts3File,
    Fts3HttpError,
    parse_job,
)
from dynamo.fileops.ports import BatchSpec, FileOpBackend, OpKind, TaskSpec, TaskStatus

FIXTURES = Path(__file__).parents[2] / "fixtures" / "fts-rest"
Handler = Callable[[httpx.Request], httpx.Response]


def _fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def _task(task_id: int, *, kind: OpKind = OpKind.TRANSFER) -> TaskSpec:
    transfer = kind == OpKind.TRANSFER
    return TaskSpec(
        task_id=task_id,
        subscription_id=task_id,
        kind=kind,
        lfn=f"/store/f{task_id}",
        size=1024 * task_id,
        adler32=f"{task_id:08x}",
        site="T2_B",
        url=f"davs://b.example/store/f{task_id}",
        path=f"/store/f{task_id}",
        source_site="T1_A" if transfer else None,
        source_url=f"root://a.example//store/f{task_id}" if transfer else None,
        source_path=f"/store/f{task_id}" if transfer else None,
    )


def _batch(count: int, *, kind: OpKind = OpKind.TRANSFER, **extra: Any) -> BatchSpec:
    return BatchSpec(
        batch_id=42,
        kind=kind,
        backend="fts3",
        site="T2_B",
        tasks=tuple(_task(i, kind=kind) for i in range(1, count + 1)),
        **extra,
    )


@pytest.fixture
def client_for() -> Iterator[Callable[[Handler], Fts3Client]]:
    clients: list[Fts3Client] = []

    def make(handler: Handler) -> Fts3Client:
        client = Fts3Client("https://fts.example:8446", transport=httpx.MockTransport(handler))
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def test_a_transfer_file_has_the_fields_of_the_documented_bulk_submission() -> None:
    documented = _fixture("bulk_submit_example_1.json")["files"][1]
    (built,) = transfer_job_request(_batch(1), _batch(1).tasks)["files"]
    assert set(built) == set(documented)
    for key in documented:
        assert type(built[key]) is type(documented[key]), key
    assert built["sources"] == ["root://a.example//store/f1"]
    assert built["destinations"] == ["davs://b.example/store/f1"]
    assert re.fullmatch(r"ADLER32:[0-9a-f]{8}", built["checksum"])
    assert built["filesize"] == 1024


def test_transfer_params_are_documented_fts3_params_of_the_documented_types() -> None:
    documented = {
        **_fixture("job_submit_request.json")["params"],
        **_fixture("bulk_submit_example_4.json")["params"],
    }
    params = transfer_job_request(_batch(2), _batch(2).tasks, retry=3)["params"]
    assert set(params) <= set(documented)
    for key, value in params.items():
        if documented[key] is not None:
            assert type(value) is type(documented[key]), key
    assert params["verify_checksum"] is True
    assert params["overwrite"] is True
    assert params["retry"] == 3
    assert params["bring_online"] == -1
    assert json.loads(params["job_metadata"]) == {
        "issuer": "dynamo",
        "batch_id": 42,
        "part": 0,
        "kind": "transfer",
    }


def test_a_staging_batch_asks_for_bring_online() -> None:
    batch = _batch(1, is_staging=True)
    params = transfer_job_request(batch, batch.tasks, bring_online=36000)["params"]
    assert params["bring_online"] == 36000


def test_a_deletion_job_lists_its_surls_with_their_task_ids() -> None:
    batch = _batch(2, kind=OpKind.DELETION)
    body = deletion_job_request(batch, batch.tasks)
    assert [entry["surl"] for entry in body["delete"]] == [t.url for t in batch.tasks]
    assert [json.loads(entry["metadata"])["task_id"] for entry in body["delete"]] == [1, 2]
    assert json.loads(body["params"]["job_metadata"])["kind"] == "deletion"


def test_the_failed_status_fixture_parses_to_a_failed_enoent_result() -> None:
    job = parse_job(_fixture("job_status_response_failed.json"))
    assert (job.job_id, job.state) == ("a40b82b7-1132-459f-a641-f8b49137a713", "FAILED")
    (file,) = job.files
    assert (file.file_id, file.file_index, file.state) == (1062, 0, "FAILED")
    result = file_result(7, file, job.state)
    assert result is not None
    assert result.status == TaskStatus.FAILED
    assert result.exit_code == errno.ENOENT
    assert result.message == "[gfalt_copy_file]HEAD failed with code '404'"
    assert result.started == int(datetime(2013, 3, 22, 13, 37, 32, tzinfo=UTC).timestamp())
    assert result.finished == int(datetime(2013, 3, 22, 13, 37, 33, tzinfo=UTC).timestamp())


def test_the_job_list_fixture_parses() -> None:
    jobs = [parse_job(entry) for entry in _fixture("jobs_list_response.json")]
    assert [job.state for job in jobs] == ["ACTIVE", "ACTIVE"]
    assert jobs[0].job_id == "abcdef-abcde-4638-98a7-123456789"
    assert jobs[0].user_dn is not None
    assert "ATLAS Data Management" in jobs[0].user_dn


def test_whoami_reads_the_documented_answer(client_for: Callable[[Handler], Fts3Client]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/whoami"
        return httpx.Response(200, json=_fixture("whoami_response.json"))

    identity = client_for(handler).whoami()
    assert identity.user_dn.endswith("CN=Alejandro Alvarez Ayllon")
    assert len(identity.dns) == 2
    assert identity.vos == ("testers.eu-emi.eu", "testers.eu-emi.eu/test")
    assert identity.delegation_id == "34644b4229f12f0d"


@pytest.mark.parametrize(
    ("file_state", "job_state", "status", "code"),
    [
        ("FINISHED", "FINISHED", TaskStatus.DONE, 0),
        ("FINISHED", "FINISHEDDIRTY", TaskStatus.DONE, 0),
        ("FAILED", "FINISHEDDIRTY", TaskStatus.FAILED, errno.EIO),
        ("CANCELED", "CANCELED", TaskStatus.CANCELLED, errno.ECANCELED),
        ("NOT_USED", "FINISHED", TaskStatus.CANCELLED, errno.ECANCELED),
        ("SUBMITTED", "CANCELED", TaskStatus.CANCELLED, errno.ECANCELED),
        ("ACTIVE", "FAILED", TaskStatus.FAILED, -1),
    ],
)
def test_final_file_states_map_to_results(
    file_state: str, job_state: str, status: TaskStatus, code: int
) -> None:
    file = Fts3File(file_id=1, state=file_state, reason="TRANSFER [5] CHECKSUM MISMATCH")
    result = file_result(3, file, job_state)
    assert result is not None
    assert (result.task_id, result.status, result.exit_code) == (3, status, code)


@pytest.mark.parametrize("state", ["SUBMITTED", "READY", "ACTIVE", "STAGING", "STARTED", "DELETE"])
def test_unfinished_files_of_a_running_job_have_no_result(state: str) -> None:
    assert file_result(1, Fts3File(file_id=1, state=state), "ACTIVE") is None


@pytest.mark.parametrize(
    ("reason", "number"),
    [
        ("SOURCE [2] No such file or directory", errno.ENOENT),
        ("DESTINATION [17] file exists and overwrite is not enabled", errno.EEXIST),
        ("[gfalt_copy_file]HEAD failed with code '404'", errno.ENOENT),
        ("TRANSFER globus_xio: Transfer timed out: performance marker", errno.ETIMEDOUT),
        ("SRM_NO_FREE_SPACE at the destination", errno.ENOSPC),
        ("Checksum mismatch between source and destination", errno.EIO),
        ("Permission denied", errno.EACCES),
        ("something nobody has seen before", -1),
    ],
)
def test_reasons_map_to_errno(reason: str, number: int) -> None:
    assert errno_for_reason(reason) == number


class _FakeFts:
    """Answers as an FTS3 would, from the bodies it was sent; finishes every file at once."""

    def __init__(self, *, refuse_after: int | None = None) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.cancelled: list[str] = []
        self.refuse_after = refuse_after

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "POST" and path == "/jobs":
            if self.refuse_after is not None and len(self.bodies) >= self.refuse_after:
                return httpx.Response(400, json={"status": "400 Bad Request", "message": "no"})
            self.bodies.append(json.loads(request.content))
            return httpx.Response(200, json={"job_id": f"job-{len(self.bodies) - 1}"})
        if request.method == "DELETE":
            self.cancelled.append(path)
            return httpx.Response(200, json={"job_id": path.split("/")[2], "job_state": "CANCELED"})
        if request.method == "GET" and path.startswith("/jobs/job-"):
            return httpx.Response(200, json=self._status(int(path.split("-")[1])))
        return httpx.Response(404, json={"status": "404 Not Found", "message": f"no {path}"})

    def _status(self, index: int) -> dict[str, Any]:
        files = [
            {
                "file_id": 1000 * index + position,
                "file_index": position,
                "file_state": "FINISHED" if position % 2 == 0 else "FAILED",
                "reason": None if position % 2 == 0 else "DESTINATION [28] No space left",
                "file_metadata": entry["metadata"],
                "start_time": "2026-01-01T00:00:00",
                "finish_time": "2026-01-01T00:00:09",
            }
            for position, entry in enumerate(self.bodies[index]["files"])
        ]
        return {"job_id": f"job-{index}", "job_state": "FINISHEDDIRTY", "files": files}


def test_a_batch_is_split_into_jobs_and_polled_back_to_its_tasks(
    client_for: Callable[[Handler], Fts3Client],
) -> None:
    fts = _FakeFts()
    backend = Fts3Backend(client=client_for(fts), max_files_per_job=2)
    assert isinstance(backend, FileOpBackend)
    batch = _batch(5)
    external_id = backend.submit(batch)
    assert external_id == "job-0,job-1,job-2"
    assert [len(body["files"]) for body in fts.bodies] == [2, 2, 1]
    parts = [json.loads(body["params"]["job_metadata"])["part"] for body in fts.bodies]
    assert parts == [0, 1, 2]
    submitted = BatchSpec(**{**_fields(batch), "external_id": external_id})
    results = {r.task_id: r for r in backend.poll(submitted)}
    assert sorted(results) == [1, 2, 3, 4, 5]
    assert [results[i].status for i in (1, 2, 3, 4, 5)] == [
        TaskStatus.DONE,
        TaskStatus.FAILED,
        TaskStatus.DONE,
        TaskStatus.FAILED,
        TaskStatus.DONE,
    ]
    assert results[2].exit_code == errno.ENOSPC
    assert results[1].finished is not None
    assert results[1].started is not None
    assert results[1].finished - results[1].started == 9


def test_a_refused_job_cancels_the_jobs_of_the_batch_already_submitted(
    client_for: Callable[[Handler], Fts3Client],
) -> None:
    fts = _FakeFts(refuse_after=1)
    backend = Fts3Backend(client=client_for(fts), max_files_per_job=2)
    with pytest.raises(Fts3HttpError) as caught:
        backend.submit(_batch(3))
    assert caught.value.status == 400
    assert fts.cancelled == ["/jobs/job-0"]


def _fields(batch: BatchSpec) -> dict[str, Any]:
    return {name: getattr(batch, name) for name in BatchSpec.__dataclass_fields__}


@pytest.mark.parametrize(
    ("status", "cls", "retryable"),
    [
        (400, Fts3HttpError, False),
        (401, Fts3AuthError, False),
        (403, Fts3AuthError, False),
        (404, Fts3HttpError, False),
        (429, Fts3HttpError, True),
        (500, Fts3HttpError, True),
        (503, Fts3HttpError, True),
    ],
)
def test_http_errors_carry_status_message_and_retryability(
    client_for: Callable[[Handler], Fts3Client],
    status: int,
    cls: type[Fts3HttpError],
    retryable: bool,
) -> None:
    body = {"status": f"{status} Whatever", "message": "the server's words"}
    client = client_for(lambda request: httpx.Response(status, json=body))
    with pytest.raises(cls) as caught:
        client.job("x")
    assert type(caught.value) is cls
    assert caught.value.status == status
    assert caught.value.message == "the server's words"
    assert caught.value.retryable is retryable


def test_a_connection_failure_is_retryable(client_for: Callable[[Handler], Fts3Client]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(Fts3ConnectionError) as caught:
        client_for(handler).whoami()
    assert caught.value.retryable


def test_an_answer_without_a_job_id_is_an_error(
    client_for: Callable[[Handler], Fts3Client],
) -> None:
    client = client_for(lambda request: httpx.Response(200, json={}))
    with pytest.raises(Fts3Error, match="no job_id"):
        client.submit({"files": []})


def test_a_job_fts3_no_longer_knows_fails_its_tasks_with_an_unknown_errno(
    client_for: Callable[[Handler], Fts3Client],
) -> None:
    backend = Fts3Backend(client=client_for(_FakeFts()))
    batch = BatchSpec(**{**_fields(_batch(2)), "external_id": "purged-job"})
    results = backend.poll(batch)
    assert [(r.task_id, r.status, r.exit_code) for r in results] == [
        (1, TaskStatus.FAILED, -1),
        (2, TaskStatus.FAILED, -1),
    ]
    assert "purged-job" in results[0].message
