"""Small runs of the storage benchmarks, the emulated tape with a fake clock, error classes."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

import pytest

from dynamo.bench.storage import bench_list, bench_pfn, make_lfns
from dynamo.storage import (
    Capability,
    EmulatedTapeStorage,
    StorageNotOnline,
    error_from_errno,
    error_from_message,
)
from dynamo.storage.errors import (
    ChecksumMismatch,
    StorageDirectoryNotEmpty,
    StorageNoSpace,
    StorageNotFound,
    StoragePermissionDenied,
    StorageTimeout,
    StorageUnavailable,
)


def test_bench_pfn_translates_every_lfn_of_every_protocol() -> None:
    figures = bench_pfn(2000)
    assert figures["lfns"] == 2000
    assert set(figures["lfns_per_s"]) == {"xrootd", "direct", "srmv2"}
    assert all(rate > 0 for rate in figures["lfns_per_s"].values())


def test_generated_lfns_are_seeded_and_distinct() -> None:
    assert make_lfns(50) == make_lfns(50)
    assert len(set(make_lfns(500))) == 500


def test_bench_list_lists_every_file_with_posix_and_xrootd() -> None:
    figures = bench_list(3000, per_directory=500)
    assert figures["posix"]["listed"] == 3000
    if shutil.which("xrootd"):
        assert figures["xrootd"]["listed"] == 3000


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_nearline_file_must_be_staged_before_it_can_be_read(tmp_path: Path) -> None:
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "old.root").write_bytes(b"on tape")
    clock = FakeClock()
    tape = EmulatedTapeStorage(tmp_path / "site", recall_delay=30, clock=clock)
    assert Capability.TAPE in tape.capabilities
    with pytest.raises(StorageNotOnline) as info:
        tape.download("/old.root", tmp_path / "out")
    assert info.value.retryable is True
    assert tape.checksum("/old.root")  # metadata needs no staging
    request = tape.request_stage(["/old.root"])
    assert tape.poll_stage(request).pending == {"/old.root"}
    clock.now += 29.9
    assert not tape.poll_stage(request).is_done
    clock.now += 0.1
    status = tape.poll_stage(request)
    assert status.online == {"/old.root"}
    tape.download("/old.root", tmp_path / "out")
    assert (tmp_path / "out").read_bytes() == b"on tape"


def test_evicting_a_written_file_makes_it_nearline(tmp_path: Path) -> None:
    local = tmp_path / "f"
    local.write_bytes(b"data")
    (tmp_path / "site").mkdir()
    tape = EmulatedTapeStorage(tmp_path / "site", recall_delay=1, clock=FakeClock())
    tape.upload(local, "/f")
    assert tape.is_online("/f")
    tape.evict("/f")
    with pytest.raises(StorageNotOnline):
        tape.download("/f", tmp_path / "back")


@pytest.mark.parametrize(
    ("number", "cls", "retryable"),
    [
        (errno.ENOENT, StorageNotFound, False),
        (errno.EACCES, StoragePermissionDenied, False),
        (errno.ENOSPC, StorageNoSpace, False),
        (errno.ENOTEMPTY, StorageDirectoryNotEmpty, False),
        (errno.ETIMEDOUT, StorageTimeout, True),
        (errno.ECONNREFUSED, StorageUnavailable, True),
    ],
)
def test_errnos_map_to_typed_errors_that_say_whether_to_retry(
    number: int, cls: type, retryable: bool
) -> None:
    error = error_from_errno(number, "boom", path="/x")
    assert type(error) is cls
    assert error.retryable is retryable
    assert str(error) == "/x: boom"


@pytest.mark.parametrize(
    ("message", "cls"),
    [
        ("SRM_NO_FREE_SPACE at the destination", StorageNoSpace),
        ("Checksum mismatch: 1 != 2", ChecksumMismatch),
        ("Connection refused", StorageUnavailable),
        ("operation timed out", StorageTimeout),
    ],
)
def test_server_messages_map_to_typed_errors(message: str, cls: type) -> None:
    assert type(error_from_message(message)) is cls
