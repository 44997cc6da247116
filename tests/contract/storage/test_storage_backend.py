"""The StorageBackend contract: every adapter, against its real server, behaves the same."""

from __future__ import annotations

import time
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from storage_cases import TAPE_RECALL_DELAY, StorageCase

from dynamo.storage import (
    Capability,
    ChecksumMismatch,
    StageStatus,
    StorageBackend,
    StorageDirectoryNotEmpty,
    StorageError,
    StorageExists,
    StorageNotFound,
    StorageUnsupported,
    copy_file,
)

PAYLOAD = b"Dynamo moves scientific data between storage sites.\n" * 1000


def adler32(data: bytes) -> str:
    return f"{zlib.adler32(data) & 0xFFFFFFFF:08x}"


@pytest.fixture
def local_file(tmp_path: Path) -> Path:
    path = tmp_path / "local.bin"
    path.write_bytes(PAYLOAD)
    return path


def put(storage: StorageBackend, path: str, local: Path) -> None:
    storage.upload(local, path)


def test_a_new_backend_is_an_empty_directory(case: StorageCase) -> None:
    root = case.storage.stat("/")
    assert root.is_dir
    assert list(case.storage.walk("/")) == []


def test_stat_of_a_file_gives_its_path_size_and_a_recent_utc_mtime(
    case: StorageCase, local_file: Path
) -> None:
    put(case.storage, "/data/a.bin", local_file)
    record = case.storage.stat("/data/a.bin")
    assert (record.path, record.size, record.is_dir) == ("/data/a.bin", len(PAYLOAD), False)
    assert record.mtime.tzinfo is not None
    assert abs(record.mtime - datetime.now(UTC)) < timedelta(hours=1)


def test_stat_of_a_directory_says_it_is_a_directory(case: StorageCase) -> None:
    case.storage.mkdir("/some/dir")
    assert case.storage.stat("/some/dir").is_dir
    assert case.storage.stat("/some").is_dir


def test_stat_of_a_missing_path_raises_not_found_which_is_final(case: StorageCase) -> None:
    with pytest.raises(StorageNotFound) as info:
        case.storage.stat("/no/such/file")
    assert info.value.retryable is False
    assert isinstance(info.value, FileNotFoundError)


def test_upload_then_download_round_trips_the_bytes_with_adler32_verified(
    case: StorageCase, local_file: Path, tmp_path: Path
) -> None:
    expected = adler32(PAYLOAD)
    record = case.storage.upload(local_file, "/x/y/z.bin", checksum=expected)
    assert record.size == len(PAYLOAD)
    back = tmp_path / "back.bin"
    case.storage.download("/x/y/z.bin", back, checksum=expected)
    assert back.read_bytes() == PAYLOAD


def test_checksum_is_the_adler32_of_the_content_in_eight_hex_digits(
    case: StorageCase, tmp_path: Path
) -> None:
    small = tmp_path / "small"
    small.write_bytes(b"a")  # adler32 00620062: leading zeros must stay
    case.storage.upload(small, "/small")
    assert case.storage.checksum("/small") == "00620062"


def test_upload_with_a_wrong_checksum_raises_mismatch_and_leaves_no_file(
    case: StorageCase, local_file: Path
) -> None:
    with pytest.raises(ChecksumMismatch) as info:
        case.storage.upload(local_file, "/bad.bin", checksum="00000001")
    assert info.value.retryable is False
    with pytest.raises(StorageNotFound):
        case.storage.stat("/bad.bin")


def test_download_with_a_wrong_checksum_raises_mismatch(
    case: StorageCase, local_file: Path, tmp_path: Path
) -> None:
    case.storage.upload(local_file, "/good.bin")
    with pytest.raises(ChecksumMismatch):
        case.storage.download("/good.bin", tmp_path / "out", checksum="00000001")


def test_upload_onto_an_existing_file_needs_overwrite(
    case: StorageCase, local_file: Path, tmp_path: Path
) -> None:
    case.storage.upload(local_file, "/f.bin")
    other = tmp_path / "other"
    other.write_bytes(b"other content")
    with pytest.raises(StorageExists):
        case.storage.upload(other, "/f.bin")
    case.storage.upload(other, "/f.bin", overwrite=True)
    assert case.storage.stat("/f.bin").size == len(b"other content")
    assert case.storage.checksum("/f.bin") == adler32(b"other content")


def test_upload_of_a_missing_local_file_raises_not_found(case: StorageCase, tmp_path: Path) -> None:
    with pytest.raises(StorageNotFound):
        case.storage.upload(tmp_path / "missing", "/m")


def test_walk_lists_every_file_and_directory_below_the_path_with_sizes_and_mtimes(
    case: StorageCase, tmp_path: Path
) -> None:
    files = {"/t/a": b"1", "/t/b/c": b"22", "/t/b/d/e": b"333", "/t/f": b""}
    for path, data in files.items():
        local = tmp_path / "src"
        local.write_bytes(data)
        case.storage.upload(local, path)
    case.storage.mkdir("/t/empty")
    entries = {entry.path: entry for entry in case.storage.walk("/t")}
    assert {p for p, e in entries.items() if not e.is_dir} == set(files)
    assert {p for p, e in entries.items() if e.is_dir} == {"/t/b", "/t/b/d", "/t/empty"}
    for path, data in files.items():
        assert entries[path].size == len(data)
        assert entries[path].mtime.tzinfo is not None


def test_walk_is_a_lazy_generator(case: StorageCase, tmp_path: Path) -> None:
    case.storage.mkdir("/lazy/a")
    listing = case.storage.walk("/lazy")
    assert isinstance(listing, Iterator)
    assert next(listing).path == "/lazy/a"


def test_walk_streams_a_directory_of_thousands_of_files(case: StorageCase) -> None:
    count = 2500
    case.seed("/many", count)
    sizes = [entry.size for entry in case.storage.walk("/many")]
    assert sizes == [10] * count


def test_walk_of_a_missing_directory_raises_not_found(case: StorageCase) -> None:
    with pytest.raises(StorageNotFound):
        list(case.storage.walk("/absent"))


def test_delete_removes_a_file(case: StorageCase, local_file: Path) -> None:
    case.storage.upload(local_file, "/d/file")
    case.storage.delete("/d/file")
    with pytest.raises(StorageNotFound):
        case.storage.stat("/d/file")
    assert case.storage.stat("/d").is_dir


def test_delete_removes_an_empty_directory(case: StorageCase) -> None:
    case.storage.mkdir("/empty/dir")
    case.storage.delete("/empty/dir")
    with pytest.raises(StorageNotFound):
        case.storage.stat("/empty/dir")


def test_delete_of_a_non_empty_directory_raises_a_final_typed_error(
    case: StorageCase, local_file: Path
) -> None:
    case.storage.upload(local_file, "/full/file")
    with pytest.raises(StorageDirectoryNotEmpty) as info:
        case.storage.delete("/full")
    assert info.value.retryable is False
    assert case.storage.stat("/full/file").size == len(PAYLOAD)


def test_delete_of_a_missing_path_raises_not_found(case: StorageCase) -> None:
    with pytest.raises(StorageNotFound):
        case.storage.delete("/never/was")


def test_mkdir_creates_parents_and_may_be_repeated(case: StorageCase) -> None:
    case.storage.mkdir("/p/q/r")
    case.storage.mkdir("/p/q/r")
    assert [e.path for e in case.storage.walk("/p")] == ["/p/q", "/p/q/r"]


def test_paths_may_not_climb_out_of_the_root(case: StorageCase) -> None:
    with pytest.raises(StorageError):
        case.storage.stat("/../etc/passwd")


def test_url_names_the_protocol_and_the_path(case: StorageCase) -> None:
    url = case.storage.url("/store/file.root")
    assert url.startswith(case.storage.scheme + "://")
    assert url.endswith("/store/file.root")


def test_third_party_copy_works_where_the_backend_claims_it(
    case: StorageCase, local_file: Path
) -> None:
    peer = case.make_peer()
    peer.upload(local_file, "/src/file")
    if Capability.THIRD_PARTY_COPY not in case.storage.capabilities:
        with pytest.raises(StorageUnsupported):
            case.storage.copy_from(peer, "/src/file", "/dst/file")
        return
    record = case.storage.copy_from(peer, "/src/file", "/dst/file", checksum=adler32(PAYLOAD))
    assert record.size == len(PAYLOAD)
    assert case.storage.checksum("/dst/file") == adler32(PAYLOAD)


def test_copy_file_between_two_sites_verifies_the_checksum(
    case: StorageCase, local_file: Path
) -> None:
    peer = case.make_peer()
    peer.upload(local_file, "/src/file")
    copy_file(peer, "/src/file", case.storage, "/dst/file", checksum=adler32(PAYLOAD))
    assert case.storage.checksum("/dst/file") == adler32(PAYLOAD)
    with pytest.raises(ChecksumMismatch):
        copy_file(peer, "/src/file", case.storage, "/dst/other", checksum="00000001")


def poll_until_done(storage: StorageBackend, request_id: str) -> StageStatus:
    deadline = time.monotonic() + 10 + 20 * TAPE_RECALL_DELAY
    while True:
        status = storage.poll_stage(request_id)
        if status.is_done or time.monotonic() > deadline:
            return status
        time.sleep(TAPE_RECALL_DELAY / 5)


def test_staging_brings_existing_files_online_and_fails_missing_ones(
    case: StorageCase, local_file: Path
) -> None:
    case.storage.upload(local_file, "/stage/file")
    request_id = case.storage.request_stage(["/stage/file", "/stage/missing"])
    status = poll_until_done(case.storage, request_id)
    assert status.online == {"/stage/file"}
    assert set(status.failed) == {"/stage/missing"}
    assert not status.pending


def test_polling_an_unknown_staging_request_raises_not_found(case: StorageCase) -> None:
    with pytest.raises(StorageNotFound):
        case.storage.poll_stage("no-such-request")
