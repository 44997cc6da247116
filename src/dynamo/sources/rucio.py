"""A Source reading a Rucio server through its REST API (plain HTTP, no Rucio client).

Mapping (``docs/sources.md``, "Rucio"; RSEs and accounts in :mod:`.rucio_map`):

- an RSE is a site of the same name, with its storage type, status, endpoint and (with a
  quota partition) quota from its attributes, usage and limits, and (with account quotas)
  the quotas of the accounts' local limits; deleted RSEs are left out.
- a Rucio dataset ``scope:name`` is a Dynamo dataset of that name with one block, named by a
  UUID5 of the DID, holding the dataset's files; ``open`` is carried.
- the file replicas of a dataset at an RSE are one block replica there: complete when every
  file is AVAILABLE, else partial (present bytes and files). Replicas carry no group (new
  ones take the sync's default group).
- an account with an X509 identity is a user (its grants left to Dynamo).
- groups, popularity, demand: none (sections absent).

Datasets are read 100 per request: their ``open`` flags by ``POST /dids/bulkmeta``, their
files by ``POST /dids/bulkfiles`` (each file names its dataset), their file replicas by
``POST /replicas/list`` (the files' datasets from the files read, else ``resolve_parents``).

Rucio has no change feed over REST. An incremental read (``since``) lists every dataset's
name (one request per scope) but reads the metadata and files only of the datasets created
since then (``created_after``); sites, users and replicas are read whole every time
(``Snapshot.whole``), so the sync deletes by absence there, and datasets gone from the name
list are deleted upstream (``Snapshot.dataset_names``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

import httpx
import orjson

from dynamo.errors import ConfigurationError
from dynamo.sources.records import (
    Snapshot,
    SourceBlock,
    SourceBlockReplica,
    SourceDataset,
    SourceFile,
    SourceReplica,
)
from dynamo.sources.rucio_map import local_limits, site_of_rse, user_of_account
from dynamo.sources.schema import SourceError

__all__ = ["RucioSource", "account_quotas_of", "block_name_of"]

_NAMESPACE: Final = uuid.UUID("8f1c7a52-3f4e-5b8a-9d6e-2a7c1b0e4d93")
BATCH: Final = 100
"""Datasets one ``POST`` asks about (``/dids/bulkmeta``, ``/dids/bulkfiles``,
``/replicas/list``)."""


def account_quotas_of(pairs: Iterable[str]) -> dict[str, str]:
    """``PARTITION=ACCOUNT`` pairs (``--account-quota``, ``DYNAMO_RUCIO_ACCOUNT_QUOTAS``) as
    ``{partition: account}``; ConfigurationError for a malformed or repeated partition."""
    found: dict[str, str] = {}
    for pair in pairs:
        partition, _, account = pair.strip().partition("=")
        if not partition or not account or partition in found:
            raise ConfigurationError(
                f"account quota {pair!r}: expected PARTITION=ACCOUNT, one per partition"
            )
        found[partition] = account
    return found


def block_name_of(did: str) -> str:
    """The name of the one block of the Rucio dataset ``did`` (``scope:name``)."""
    return str(uuid.uuid5(_NAMESPACE, did))


class RucioSource:
    """Reads RSEs, accounts, and the datasets, files and replicas of ``scopes`` (default: all)
    from ``base_url``; ``quota_partition`` names the partition an RSE's capacity is the quota
    of (None: none), ``account_quotas`` the account whose local limits are the quotas of each
    partition (``{partition: account}``; a partition in both: ConfigurationError).

    Authentication: ``token``, or userpass (``account``, ``username``, ``password``). An
    instance keeps what it read (the dataset names, each dataset's files): use one per sync.
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
        quota_partition: str | None = None,
        account_quotas: Mapping[str, str] | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        self._account_quotas = dict(account_quotas or {})
        if quota_partition in self._account_quotas:
            raise ConfigurationError(
                f"partition {quota_partition}: its quotas come from the RSE capacities or "
                "from an account's limits, not both"
            )
        self.base_url = base_url.rstrip("/")
        self.name = f"rucio:{self.base_url}"
        self._scopes = tuple(scopes)
        self._token = token
        self._login = (account, username, password)
        self._client = client or httpx.Client(timeout=120.0)
        self._quota_partition = quota_partition
        self._datasets: dict[int | None, list[tuple[str, str]]] = {}
        self._members: dict[str, frozenset[str]] = {}  # dataset -> its files, as catalog read

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

    def _request(self, path: str, headers: dict[str, str], body: Any = None) -> httpx.Response:
        """GET ``path``, or POST ``body`` as JSON when given."""
        url = self.base_url + path
        try:
            if body is None:
                response = self._client.get(url, headers=headers)
            else:
                response = self._client.post(url, headers=headers, json=body)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise SourceError(f"Rucio {url}: {exc}") from exc
        return response

    def _items(self, path: str, body: Any = None) -> Iterator[Any]:
        """The JSON values of a response: a JSON stream (one per line) or one document."""
        response = self._request(path, self._headers(), body)
        try:
            if "x-json-stream" in response.headers.get("content-type", ""):
                for line in response.content.splitlines():
                    if line.strip():
                        yield orjson.loads(line)
            else:
                yield orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            raise SourceError(f"Rucio {path}: not JSON: {exc}") from exc

    def _json(self, path: str) -> Any:
        """One JSON document read by the standard parser, which takes the ``Infinity`` Rucio
        writes for an unlimited account limit (orjson does not)."""
        response = self._request(path, self._headers())
        try:
            return json.loads(response.content)
        except ValueError as exc:
            raise SourceError(f"Rucio {path}: not JSON: {exc}") from exc

    def close(self) -> None:
        self._client.close()

    # ports

    def _one(self, path: str) -> Any:
        found = list(self._items(path))
        return found[0] if len(found) == 1 else found

    def sites(self) -> Snapshot:
        accounts = {
            partition: local_limits(self._json(f"/accounts/{account}/limits/local"))
            for partition, account in sorted(self._account_quotas.items())
        }
        sites = []
        for rse in self._items("/rses/"):
            if rse.get("deleted"):
                continue
            name = str(rse["rse"])
            sites.append(
                site_of_rse(
                    self._one(f"/rses/{name}"),
                    self._one(f"/rses/{name}/attr/"),
                    list(self._items(f"/rses/{name}/usage")),
                    self._one(f"/rses/{name}/limits") or {},
                    quota_partition=self._quota_partition,
                    account_quotas=accounts,
                )
            )
        return _whole("sites", sites=tuple(sites))

    def users(self) -> Snapshot:
        users = []
        for account in self._items("/accounts/"):
            name = str(account["account"])
            user = user_of_account(name, self._items(f"/accounts/{name}/identities"))
            if user is not None:
                users.append(user)
        return _whole("users", users=tuple(users))

    def groups(self) -> Snapshot:
        return Snapshot()

    def popularity(self, since: int | None) -> Snapshot:
        return Snapshot()

    def demand(self, since: int | None) -> Snapshot:
        return Snapshot()

    def _dataset_dids(self, since: int | None = None) -> list[tuple[str, str]]:
        """The (scope, name) of every dataset, or of those created since ``since``."""
        if since not in self._datasets:
            scopes = self._scopes or tuple(str(s) for doc in self._items("/scopes/") for s in doc)
            query = "type=dataset&long=True"
            if since is not None:
                created = datetime.fromtimestamp(since, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
                query += f"&created_after={created}"
            self._datasets[since] = sorted(
                (scope, str(did["name"]))
                for scope in scopes
                for did in self._items(f"/dids/{scope}/dids/search?{query}")
            )
        return self._datasets[since]

    def _batches(self, since: int | None = None) -> Iterator[tuple[list[str], dict[str, Any]]]:
        """The datasets of :meth:`_dataset_dids`, :data:`BATCH` at a time: their names
        (``scope:name``) and the ``dids`` body that asks about them."""
        dids = self._dataset_dids(since)
        for start in range(0, len(dids), BATCH):
            batch = dids[start : start + BATCH]
            body = {"dids": [{"scope": scope, "name": name} for scope, name in batch]}
            yield [f"{scope}:{name}" for scope, name in batch], body

    def catalog(self, since: int | None) -> Snapshot:
        """The datasets with their files, :data:`BATCH` datasets per ``POST /dids/bulkmeta``
        (the ``open`` flags) and per ``POST /dids/bulkfiles`` (the files, each naming its
        dataset). A dataset gone between the listing and the batch's metadata is left out."""
        datasets = []
        for batch, body in self._batches(since):
            is_open = {
                f"{meta['scope']}:{meta['name']}": bool(meta.get("is_open", False))
                for meta in self._items("/dids/bulkmeta", body)
            }
            files: dict[str, list[SourceFile]] = {did: [] for did in batch}
            for f in self._items("/dids/bulkfiles", body):
                found = files.get(f"{f['parent_scope']}:{f['parent_name']}")
                if found is not None:
                    found.append(
                        SourceFile(
                            lfn=f"{f['scope']}:{f['name']}",
                            size=int(f["bytes"] or 0),
                            adler32=str(f.get("adler32") or ""),
                        )
                    )
            for did in batch:
                self._members[did] = frozenset(f.lfn for f in files[did])
                if did not in is_open:
                    continue
                content = tuple(sorted(files[did], key=lambda f: f.lfn))
                block = SourceBlock(
                    name=block_name_of(did),
                    size=sum(f.size for f in content),
                    num_files=len(content),
                    is_open=is_open[did],
                    files=content,
                )
                datasets.append(SourceDataset(name=did, is_open=block.is_open, blocks=(block,)))
        if since is None:
            return _whole("datasets", datasets=tuple(datasets))
        names = frozenset(f"{scope}:{name}" for scope, name in self._dataset_dids())
        return Snapshot(
            sections=frozenset({"datasets"}), datasets=tuple(datasets), dataset_names=names
        )

    def replicas(self, since: int | None) -> Snapshot:
        """Every dataset's file replicas, :data:`BATCH` datasets per ``POST /replicas/list``.
        A file's datasets are those whose files :meth:`catalog` read (a full read: every
        dataset's), else the listing names them (``resolve_parents``, which costs Rucio about
        as much again: 4.7-5.2 s instead of 2.0-2.9 s per 1,000 datasets)."""
        replicas = []
        for batch, body in self._batches():
            totals = {did: [0, 0] for did in batch}  # files, bytes
            present: dict[tuple[str, str], list[int]] = {}  # (did, rse) -> files, bytes
            known: dict[str, set[str]] | None = None  # file -> its datasets, from the catalog
            if all(did in self._members for did in batch):
                known = {}
                for did in batch:
                    for lfn in self._members[did]:
                        known.setdefault(lfn, set()).add(did)
            ask = body if known is not None else {**body, "resolve_parents": True}
            for file in self._items("/replicas/list", ask):
                size = int(file.get("bytes") or 0)
                available = [r for r, s in (file.get("states") or {}).items() if s == "AVAILABLE"]
                if known is not None:
                    parents = known.get(f"{file['scope']}:{file['name']}", set())
                else:
                    parents = set(file.get("parents") or ()) & totals.keys()
                for did in parents:
                    totals[did][0] += 1
                    totals[did][1] += size
                    for rse in available:
                        tally = present.setdefault((did, rse), [0, 0])
                        tally[0] += 1
                        tally[1] += size
            for (did, rse), (count, nbytes) in sorted(present.items()):
                complete = [count, nbytes] == totals[did]
                part = SourceBlockReplica(
                    block=block_name_of(did),
                    size=None if complete else nbytes,
                    num_files=None if complete else count,
                )
                replicas.append(SourceReplica(dataset=did, site=rse, blocks=(part,)))
        return _whole("replicas", replicas=tuple(replicas))


def _whole(section: str, **records: Any) -> Snapshot:
    """A snapshot of ``section`` that is the whole view whatever ``since`` was."""
    return Snapshot(sections=frozenset({section}), whole=frozenset({section}), **records)
