"""A Source reading a Rucio server through its REST API (plain HTTP, no Rucio client).

Mapping (``docs/sources.md``, "Rucio"):

- an RSE is a site of the same name: ``rse_type`` TAPE is MSS, else DISK; READY when it is
  readable, else WAITROOM; deleted RSEs are left out. No quotas (Rucio has none per partition).
- a Rucio dataset ``scope:name`` is a Dynamo dataset of that name with one block, named by a
  UUID5 of the DID, holding the dataset's files; ``open`` is carried.
- the file replicas of a dataset at an RSE are one block replica there: complete when every
  file is AVAILABLE, else partial (present bytes and files). Replicas carry no group (new
  ones take the sync's default group).
- groups and popularity: none (sections absent).

Rucio has no change feed over REST, so every read is the whole view (``Snapshot.is_whole``):
an incremental sync still deletes by absence, and its ChangeSet still holds only what differs.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from typing import Any, Final

import httpx
import orjson

from dynamo.model import SiteStatus, StorageType
from dynamo.sources.records import (
    Snapshot,
    SourceBlock,
    SourceBlockReplica,
    SourceDataset,
    SourceFile,
    SourceReplica,
    SourceSite,
)
from dynamo.sources.schema import SourceError

__all__ = ["RucioSource", "block_name_of"]

_NAMESPACE: Final = uuid.UUID("8f1c7a52-3f4e-5b8a-9d6e-2a7c1b0e4d93")


def block_name_of(did: str) -> str:
    """The name of the one block of the Rucio dataset ``did`` (``scope:name``)."""
    return str(uuid.uuid5(_NAMESPACE, did))


class RucioSource:
    """Reads RSEs, datasets, files and replicas of ``scopes`` (default: all) from ``base_url``.

    Authentication: ``token``, or userpass (``account``, ``username``, ``password``).
    """

    def __init__(
        self,
        base_url: str,
        *,
        scopes: Sequence[str] = (),
        token: str | None = None,
        account: str = "root",
        username: str | None = None,
        password: str | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.name = f"rucio:{self.base_url}"
        self._scopes = tuple(scopes)
        self._token = token
        self._login = (account, username, password)
        self._client = client or httpx.Client(timeout=120.0)
        self._datasets: list[tuple[str, str]] | None = None

    # HTTP

    def _headers(self) -> dict[str, str]:
        if self._token is None:
            account, username, password = self._login
            if username is None or password is None:
                raise SourceError("Rucio needs a token or a username and password")
            answer = self._request(
                "/auth/userpass",
                headers={
                    "X-Rucio-Account": account,
                    "X-Rucio-Username": username,
                    "X-Rucio-Password": password,
                },
            )
            self._token = answer.headers["X-Rucio-Auth-Token"]
        return {"X-Rucio-Auth-Token": self._token}

    def _request(self, path: str, headers: dict[str, str]) -> httpx.Response:
        url = self.base_url + path
        try:
            response = self._client.get(url, headers=headers)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise SourceError(f"Rucio {url}: {exc}") from exc
        return response

    def _items(self, path: str) -> Iterator[Any]:
        """The JSON values of a response: a JSON stream (one per line) or one document."""
        response = self._request(path, self._headers())
        try:
            if "x-json-stream" in response.headers.get("content-type", ""):
                for line in response.content.splitlines():
                    if line.strip():
                        yield orjson.loads(line)
            else:
                yield orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            raise SourceError(f"Rucio {path}: not JSON: {exc}") from exc

    def close(self) -> None:
        self._client.close()

    # ports

    def sites(self) -> Snapshot:
        sites = []
        for rse in self._items("/rses/"):
            if rse.get("deleted"):
                continue
            sites.append(
                SourceSite(
                    name=str(rse["rse"]),
                    storage_type=StorageType.MSS
                    if rse.get("rse_type") == "TAPE"
                    else StorageType.DISK,
                    status=SiteStatus.READY
                    if rse.get("availability_read", True)
                    else SiteStatus.WAITROOM,
                )
            )
        return Snapshot(sections=frozenset({"sites"}), sites=tuple(sites), is_whole=True)

    def groups(self) -> Snapshot:
        return Snapshot()

    def popularity(self, since: int | None) -> Snapshot:
        return Snapshot()

    def _dataset_dids(self) -> list[tuple[str, str]]:
        if self._datasets is None:
            scopes = self._scopes or tuple(str(s) for doc in self._items("/scopes/") for s in doc)
            self._datasets = sorted(
                (scope, str(did["name"]))
                for scope in scopes
                for did in self._items(f"/dids/{scope}/dids/search?type=dataset&long=True")
            )
        return self._datasets

    def catalog(self, since: int | None) -> Snapshot:
        datasets = []
        for scope, name in self._dataset_dids():
            did = f"{scope}:{name}"
            [meta] = list(self._items(f"/dids/{scope}/{name}"))
            files = tuple(
                SourceFile(
                    lfn=f"{f['scope']}:{f['name']}",
                    size=int(f["bytes"] or 0),
                    adler32=str(f.get("adler32") or ""),
                )
                for f in self._items(f"/dids/{scope}/{name}/files")
            )
            block = SourceBlock(
                name=block_name_of(did),
                size=sum(f.size for f in files),
                num_files=len(files),
                is_open=bool(meta.get("open", False)),
                files=files,
            )
            datasets.append(SourceDataset(name=did, is_open=block.is_open, blocks=(block,)))
        return Snapshot(sections=frozenset({"datasets"}), datasets=tuple(datasets), is_whole=True)

    def replicas(self, since: int | None) -> Snapshot:
        replicas = []
        for scope, name in self._dataset_dids():
            did = f"{scope}:{name}"
            total_files = 0
            present: dict[str, tuple[int, int]] = {}
            total_bytes = 0
            for file in self._items(f"/replicas/{scope}/{name}"):
                total_files += 1
                size = int(file.get("bytes") or 0)
                total_bytes += size
                for rse, state in (file.get("states") or {}).items():
                    if state == "AVAILABLE":
                        count, nbytes = present.get(rse, (0, 0))
                        present[rse] = (count + 1, nbytes + size)
            for rse, (count, nbytes) in sorted(present.items()):
                complete = count == total_files and nbytes == total_bytes
                part = SourceBlockReplica(
                    block=block_name_of(did),
                    size=None if complete else nbytes,
                    num_files=None if complete else count,
                )
                replicas.append(SourceReplica(dataset=did, site=rse, blocks=(part,)))
        return Snapshot(sections=frozenset({"replicas"}), replicas=tuple(replicas), is_whole=True)
