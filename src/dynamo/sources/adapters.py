"""Adapters of the source ports: one JSON document from a file, or JSON over HTTP
(:class:`~dynamo.sources.csvfiles.CsvSource` reads a directory of CSV files).

:class:`JsonFileSource` reads the whole document (``docs/sources.md``) from a path; it has no
notion of ``since``: an incremental sync from a file takes the file as the delta.
:class:`HttpJsonSource` asks ``GET {base}/{section}?since=T`` for each section; each answer is
a document of the same schema holding that section (and ``deleted`` for incremental reads);
a 404 means the source does not serve the section (it then takes no part in the sync).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Final

import httpx
import orjson

from dynamo.sources.csvfiles import CsvSource
from dynamo.sources.document import DocumentSource
from dynamo.sources.records import Snapshot
from dynamo.sources.rucio import RucioSource, account_quotas_of
from dynamo.sources.schema import SourceError, SourceFormatError, parse_document

__all__ = ["HttpJsonSource", "JsonFileSource", "open_source"]

DEFAULT_TIMEOUT: Final = 60.0


class JsonFileSource(DocumentSource):
    """A Source reading one JSON document from ``path`` (read once per instance)."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.name = str(path)

    def _load(self) -> Snapshot:
        try:
            data = orjson.loads(self.path.read_bytes())
        except OSError as exc:
            raise SourceError(f"cannot read {self.path}: {exc}") from exc
        except orjson.JSONDecodeError as exc:
            raise SourceFormatError(f"{self.path}: not JSON: {exc}") from exc
        return parse_document(data)


class HttpJsonSource:
    """A Source over JSON-over-HTTP; ``client`` may carry a MockTransport in tests."""

    def __init__(self, base_url: str, *, client: httpx.Client | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.name = self.base_url
        self._client = client or httpx.Client(timeout=DEFAULT_TIMEOUT)

    def _get(self, section: str, since: int | None) -> Snapshot:
        url = f"{self.base_url}/{section}"
        params = {} if since is None else {"since": str(since)}
        try:
            response = self._client.get(url, params=params)
            if response.status_code == 404:
                return Snapshot()  # a section this source does not serve
            response.raise_for_status()
            data = orjson.loads(response.content)
        except httpx.HTTPError as exc:
            raise SourceError(f"{url}: {exc}") from exc
        except orjson.JSONDecodeError as exc:
            raise SourceFormatError(f"{url}: not JSON: {exc}") from exc
        whole = parse_document(data)
        return whole.only(section) if section in whole.sections else whole

    def catalog(self, since: int | None) -> Snapshot:
        return self._get("datasets", since)

    def replicas(self, since: int | None) -> Snapshot:
        return self._get("replicas", since)

    def sites(self) -> Snapshot:
        return self._get("sites", None)

    def groups(self) -> Snapshot:
        return self._get("groups", None)

    def popularity(self, since: int | None) -> Snapshot:
        return self._get("popularity", since)

    def users(self) -> Snapshot:
        return self._get("users", None)

    def demand(self, since: int | None) -> Snapshot:
        return self._get("demand", since)

    def close(self) -> None:
        self._client.close()


def open_source(
    spec: str, env: Mapping[str, str] | None = None
) -> JsonFileSource | CsvSource | HttpJsonSource | RucioSource:
    """The adapter for ``spec``: ``rucio+http(s)://`` a Rucio server (credentials from ``env``:
    ``DYNAMO_RUCIO_TOKEN``, or ``DYNAMO_RUCIO_ACCOUNT`` (default root), ``_USERNAME`` and
    ``_PASSWORD``; scopes from ``DYNAMO_RUCIO_SCOPES``, comma-separated, default all; the
    partition RSE capacities are the quota of from ``DYNAMO_RUCIO_QUOTA_PARTITION``; the
    partitions whose quotas are accounts' local limits from ``DYNAMO_RUCIO_ACCOUNT_QUOTAS``,
    comma-separated ``PARTITION=ACCOUNT``), an http(s) URL of a JSON source, a directory of
    CSV files, else a JSON file path."""
    if spec.startswith(("rucio+http://", "rucio+https://")):
        found = env or {}
        scopes = found.get("DYNAMO_RUCIO_SCOPES", "")
        return RucioSource(
            spec.removeprefix("rucio+"),
            scopes=tuple(s for s in scopes.split(",") if s),
            token=found.get("DYNAMO_RUCIO_TOKEN"),
            account=found.get("DYNAMO_RUCIO_ACCOUNT", "root"),
            username=found.get("DYNAMO_RUCIO_USERNAME"),
            password=found.get("DYNAMO_RUCIO_PASSWORD"),
            quota_partition=found.get("DYNAMO_RUCIO_QUOTA_PARTITION") or None,
            account_quotas=account_quotas_of(
                p for p in found.get("DYNAMO_RUCIO_ACCOUNT_QUOTAS", "").split(",") if p.strip()
            ),
        )
    if spec.startswith(("http://", "https://")):
        return HttpJsonSource(spec)
    path = Path(spec)
    if path.is_dir():
        return CsvSource(path)
    if not path.is_file():
        raise SourceError(f"no such source file: {spec}")
    return JsonFileSource(path)
