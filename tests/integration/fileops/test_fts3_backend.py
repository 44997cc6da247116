"""The FTS3 backend against the FTS3 test double (:mod:`fts3_server`) over HTTPS with x509
credentials: real bytes between posix sites, a WebDAV server and an emulated tape site."""

from __future__ import annotations

import errno
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import pki
from dynamo.errors import ConfigurationError
from dynamo.fileops.fts3 import Fts3Backend
from dynamo.fileops.fts3_client import (
    Fts3AuthError,
    Fts3Client,
    Fts3ConnectionError,
    Fts3HttpError,
    Fts3TlsError,
)
from dynamo.fileops.ports import OpKind, TaskSpec, TaskStatus
from dynamo.storage import EmulatedTapeStorage, PosixStorage
from fts3_server import Fts3TestServer
from fts3_server.batches import (
    adler32,
    make_batch,
    seed,
    submitted,
    transfer_task,
    wait_results,
)

RECALL_DELAY = 0.3


@dataclass
class Grid:
    pki: pki.Pki
    site_a: PosixStorage
    site_b: PosixStorage
    tape: EmulatedTapeStorage
    server: Fts3TestServer
    client: Fts3Client
    backend: Fts3Backend

    def client_for(self, **credentials: object) -> Fts3Client:
        return Fts3Client(self.server.url, **credentials)  # type: ignore[arg-type]


@pytest.fixture
def grid(tmp_path: Path) -> Iterator[Grid]:
    certificates = pki.build_pki(tmp_path / "pki")
    for name in ("a", "b", "tape"):
        (tmp_path / name).mkdir()
    site_a, site_b = PosixStorage(tmp_path / "a"), PosixStorage(tmp_path / "b")
    tape = EmulatedTapeStorage(tmp_path / "tape", recall_delay=RECALL_DELAY)
    allowed = {certificates.users["alice"].dn, certificates.users["carol"].dn}
    with Fts3TestServer([site_a, site_b, tape], certificates, authorized_dns=allowed) as server:
        proxy = certificates.proxies["alice"].cert_path
        with Fts3Client(server.url, cert=proxy, ca_dir=certificates.ca_dir) as client:
            backend = Fts3Backend(client=client, retry=0)
            yield Grid(certificates, site_a, site_b, tape, server, client, backend)
    assert not [t for t in threading.enumerate() if t.name == "fts3-test-runner"]


def _states(client: Fts3Client, job_id: str, timeout: float = 30.0) -> list[str]:
    """The distinct job states seen, in order, until the job ends."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = client.job(job_id).state
        if not seen or seen[-1] != state:
            seen.append(state)
        if state in ("FINISHED", "FAILED", "FINISHEDDIRTY", "CANCELED"):
            return seen
        time.sleep(0.01)
    raise AssertionError(f"job {job_id} did not end: {seen}")


def test_transfers_between_posix_sites_finish_with_the_right_bytes(
    grid: Grid, tmp_path: Path
) -> None:
    contents = {f"/store/data/f{i}.root": bytes([i]) * (1000 + i) for i in range(3)}
    tasks = []
    for i, (path, data) in enumerate(contents.items()):
        seed(tmp_path / "a", path, data)
        tasks.append(transfer_task(i + 1, grid.site_a, grid.site_b, path, data))
    batch = submitted(grid.backend, make_batch(tasks))
    results = wait_results(grid.backend, batch)
    assert {r.status for r in results.values()} == {TaskStatus.DONE}
    assert {r.exit_code for r in results.values()} == {0}
    assert all(r.started is not None and r.finished is not None for r in results.values())
    for path, data in contents.items():
        assert (tmp_path / "b" / path.lstrip("/")).read_bytes() == data
        assert grid.site_b.checksum(path) == adler32(data)
    assert batch.external_id is not None
    assert grid.client.job(batch.external_id).state == "FINISHED"


def test_a_corrupted_source_fails_with_an_eio_checksum_reason(grid: Grid, tmp_path: Path) -> None:
    good = b"the data the catalogue knows"
    task = transfer_task(1, grid.site_a, grid.site_b, "/store/bad.root", good)
    seed(tmp_path / "a", "/store/bad.root", b"the data the disk now holds!")
    batch = submitted(grid.backend, make_batch([task]))
    (result,) = wait_results(grid.backend, batch).values()
    assert result.status == TaskStatus.FAILED
    assert result.exit_code == errno.EIO
    assert "CHECKSUM MISMATCH" in result.message
    assert not (tmp_path / "b" / "store" / "bad.root").exists()
    assert grid.client.job(str(batch.external_id)).state == "FAILED"


def test_a_partly_failed_job_is_finisheddirty_with_per_file_results(
    grid: Grid, tmp_path: Path
) -> None:
    seed(tmp_path / "a", "/store/ok.root", b"ok")
    tasks = [
        transfer_task(1, grid.site_a, grid.site_b, "/store/ok.root", b"ok"),
        transfer_task(2, grid.site_a, grid.site_b, "/store/missing.root", b"never written"),
    ]
    batch = submitted(grid.backend, make_batch(tasks))
    results = wait_results(grid.backend, batch)
    assert results[1].status == TaskStatus.DONE
    assert results[2].status == TaskStatus.FAILED
    assert results[2].exit_code == errno.ENOENT
    job = grid.client.job(str(batch.external_id))
    assert job.state == "FINISHEDDIRTY"
    assert sorted(f.state for f in job.files) == ["FAILED", "FINISHED"]


def test_cancelling_a_job_reports_its_tasks_cancelled(grid: Grid, tmp_path: Path) -> None:
    tasks = []
    for i in range(2):
        seed(tmp_path / "a", f"/store/c{i}", b"x" * 10)
        tasks.append(transfer_task(i + 1, grid.site_a, grid.site_b, f"/store/c{i}", b"x" * 10))
    grid.server.runner.paused.set()
    batch = submitted(grid.backend, make_batch(tasks))
    assert grid.backend.pending() == 2
    assert Fts3Backend(client=grid.client).pending() == 2  # a backend that did not submit it
    grid.backend.cancel(batch, [1, 2])
    grid.server.runner.paused.clear()
    results = wait_results(grid.backend, batch)
    assert {r.status for r in results.values()} == {TaskStatus.CANCELLED}
    assert {r.exit_code for r in results.values()} == {errno.ECANCELED}
    assert grid.client.job(str(batch.external_id)).state == "CANCELED"
    assert grid.backend.pending() == 0
    assert not (tmp_path / "b" / "store").exists()


def test_cancelling_some_files_leaves_the_others_to_finish(grid: Grid, tmp_path: Path) -> None:
    tasks = []
    for i in range(3):
        seed(tmp_path / "a", f"/store/p{i}", b"y" * 5)
        tasks.append(transfer_task(i + 1, grid.site_a, grid.site_b, f"/store/p{i}", b"y" * 5))
    grid.server.runner.paused.set()
    batch = submitted(grid.backend, make_batch(tasks))
    grid.backend.cancel(batch, [2])
    grid.server.runner.paused.clear()
    results = wait_results(grid.backend, batch)
    assert results[2].status == TaskStatus.CANCELLED
    assert results[1].status == results[3].status == TaskStatus.DONE
    assert not (tmp_path / "b" / "store" / "p1").exists()


def test_deletion_jobs_remove_the_files(grid: Grid, tmp_path: Path) -> None:
    seed(tmp_path / "b", "/store/old1", b"1")
    seed(tmp_path / "b", "/store/old2", b"2")
    tasks = [
        TaskSpec(
            task_id=i,
            subscription_id=i,
            kind=OpKind.DELETION,
            lfn=path,
            size=1,
            adler32="00000000",
            site="B",
            url=grid.site_b.url(path),
            path=path,
        )
        for i, path in enumerate(["/store/old1", "/store/old2", "/store/gone"], start=1)
    ]
    results = wait_results(
        grid.backend, submitted(grid.backend, make_batch(tasks, kind=OpKind.DELETION))
    )
    assert results[1].status == results[2].status == TaskStatus.DONE
    assert results[3].status == TaskStatus.FAILED
    assert results[3].exit_code == errno.ENOENT
    assert not (tmp_path / "b" / "store" / "old1").exists()
    assert not (tmp_path / "b" / "store" / "old2").exists()


def test_a_staging_batch_brings_tape_files_online_then_transfers_them(
    grid: Grid, tmp_path: Path
) -> None:
    data = b"archived long ago" * 100
    seed(tmp_path / "tape", "/store/tape.root", data)  # written behind its back: nearline
    assert not grid.tape.is_online("/store/tape.root")
    task = transfer_task(1, grid.tape, grid.site_b, "/store/tape.root", data)
    batch = submitted(grid.backend, make_batch([task], is_staging=True))
    seen = _states(grid.client, str(batch.external_id))
    assert seen[-1] == "FINISHED"
    assert "STAGING" in seen
    (result,) = wait_results(grid.backend, batch).values()
    assert result.status == TaskStatus.DONE, result.message
    assert (tmp_path / "b" / "store" / "tape.root").read_bytes() == data
    assert grid.tape.is_online("/store/tape.root")
    assert grid.server.job(str(batch.external_id)).files[0].stage is not None


def test_a_nearline_file_without_staging_fails_retryably(grid: Grid, tmp_path: Path) -> None:
    seed(tmp_path / "tape", "/store/cold.root", b"cold")
    task = transfer_task(1, grid.tape, grid.site_b, "/store/cold.root", b"cold")
    (result,) = wait_results(grid.backend, submitted(grid.backend, make_batch([task]))).values()
    assert result.status == TaskStatus.FAILED
    assert result.exit_code == errno.EAGAIN


def test_batches_larger_than_a_job_are_split(grid: Grid, tmp_path: Path) -> None:
    backend = Fts3Backend(client=grid.client, max_files_per_job=2)
    tasks = []
    for i in range(5):
        seed(tmp_path / "a", f"/store/s{i}", bytes([i]) * 3)
        tasks.append(transfer_task(i + 1, grid.site_a, grid.site_b, f"/store/s{i}", bytes([i]) * 3))
    batch = submitted(backend, make_batch(tasks))
    assert len(str(batch.external_id).split(",")) == 3
    results = wait_results(backend, batch)
    assert {r.status for r in results.values()} == {TaskStatus.DONE}


def test_whoami_names_the_certificate_owner_for_a_proxy_and_a_certificate(grid: Grid) -> None:
    alice = grid.pki.users["alice"]
    identity = grid.client.whoami()
    assert identity.user_dn == alice.dn
    assert identity.dns == (alice.dn, grid.pki.proxies["alice"].dn)
    carol = grid.pki.users["carol"]
    with grid.client_for(
        cert=carol.cert_path, key=carol.key_path, ca_file=grid.pki.root / "ca.pem"
    ) as client:
        assert client.whoami().user_dn == carol.dn
        assert client.whoami().dns == (carol.dn,)


def test_a_user_the_server_does_not_authorize_gets_a_403(grid: Grid) -> None:
    bob = grid.pki.users["bob"]
    with (
        grid.client_for(cert=bob.cert_path, key=bob.key_path, ca_dir=grid.pki.ca_dir) as client,
        pytest.raises(Fts3AuthError) as caught,
    ):
        client.whoami()
    assert caught.value.status == 403
    assert bob.dn in caught.value.message
    assert not caught.value.retryable


def test_no_client_certificate_is_refused(grid: Grid) -> None:
    with (
        grid.client_for(ca_dir=grid.pki.ca_dir) as client,
        pytest.raises(Fts3AuthError, match="No client certificate"),
    ):
        client.whoami()


def test_a_certificate_from_an_unknown_ca_fails_the_handshake(grid: Grid, tmp_path: Path) -> None:
    stranger = pki.build_pki(tmp_path / "other-pki").proxies["alice"]
    with (
        grid.client_for(cert=stranger.cert_path, ca_dir=grid.pki.ca_dir) as client,
        pytest.raises(Fts3TlsError),
    ):
        client.whoami()


def test_a_missing_certificate_file_is_a_configuration_error(grid: Grid, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="client certificate"):
        grid.client_for(cert=tmp_path / "nope.pem", ca_dir=grid.pki.ca_dir)


def test_an_unknown_job_is_a_404(grid: Grid) -> None:
    with pytest.raises(Fts3HttpError) as caught:
        grid.client.job("no-such-job")
    assert caught.value.status == 404
    assert not caught.value.retryable


def test_an_unreachable_server_is_a_retryable_connection_error(grid: Grid) -> None:
    proxy = grid.pki.proxies["alice"].cert_path
    url = grid.server.url.rsplit(":", 1)[0] + ":1"
    with (
        Fts3Client(url, cert=proxy, ca_dir=grid.pki.ca_dir, timeout=5) as client,
        pytest.raises(Fts3ConnectionError) as caught,
    ):
        client.whoami()
    assert caught.value.retryable


def test_an_existing_target_fails_with_eexist_without_overwrite(grid: Grid, tmp_path: Path) -> None:
    seed(tmp_path / "a", "/store/new", b"new")
    seed(tmp_path / "b", "/store/new", b"old")
    backend = Fts3Backend(client=grid.client, overwrite=False)
    task = transfer_task(1, grid.site_a, grid.site_b, "/store/new", b"new")
    (result,) = wait_results(backend, submitted(backend, make_batch([task]))).values()
    assert result.status == TaskStatus.FAILED
    assert result.exit_code == errno.EEXIST
    assert (tmp_path / "b" / "store" / "new").read_bytes() == b"old"
    (done,) = wait_results(grid.backend, submitted(grid.backend, make_batch([task]))).values()
    assert done.status == TaskStatus.DONE
    assert (tmp_path / "b" / "store" / "new").read_bytes() == b"new"


def test_a_backend_connected_with_a_certificate_and_key_runs_a_batch(
    grid: Grid, tmp_path: Path
) -> None:
    carol = grid.pki.users["carol"]
    seed(tmp_path / "a", "/store/k", b"key pair")
    task = transfer_task(1, grid.site_a, grid.site_b, "/store/k", b"key pair")
    backend = Fts3Backend.connect(
        grid.server.url, cert=carol.cert_path, key=carol.key_path, ca_dir=grid.pki.ca_dir
    )
    try:
        batch = submitted(backend, make_batch([task]))
        (result,) = wait_results(backend, batch).values()
        assert grid.server.job(str(batch.external_id)).user_dn == carol.dn
    finally:
        backend.close()
    assert result.status == TaskStatus.DONE
