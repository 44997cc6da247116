"""Where each site's files live: a storage backend and the LFN -> site-path rule.

Configured in TOML, one table per site::

    [storage.T2_CH_CERN]
    url = "root://127.0.0.1:1094//data"   # or file:///srv/cern, davs://host/path, memory://name
    catalog = "storage.xml"                # optional: a CMS TFC or storage.json (relative: to
    protocol = "xrootd"                    #   the file); protocol of its rules (default: the
    backend = "standalone"                 #   url's scheme); backend: standalone or fts3
    tape = true                            # optional: an emulated tape site (file:// only)

Without a catalog the LFN is the site path (``/store/a.root`` is ``<url>/store/a.root``). With
one, the catalog's PFN must start with the endpoint's URL; the rest is the site path.
Storage backends are made lazily, on first use, and cached (nothing connects at load time).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dynamo.errors import ConfigurationError
from dynamo.storage import EmulatedTapeStorage, MemoryStorage, PosixStorage, StorageBackend
from dynamo.storage.catalogs import load_catalog
from dynamo.storage.naming import Catalog, PfnTranslationError
from dynamo.storage.ports import normalize_path

__all__ = ["BACKEND_NAMES", "Endpoint", "Endpoints", "endpoints_from_table", "load_toml"]

BACKEND_NAMES = frozenset({"standalone", "fts3", "memory"})
_KEYS = frozenset({"url", "catalog", "protocol", "backend", "tape", "volume", "recall_delay"})
_SCHEMES = frozenset({"file", "root", "xroot", "davs", "https", "http", "memory"})


@dataclass(slots=True, kw_only=True, eq=False)
class Endpoint:
    """One site's storage: ``url`` is the root of its namespace."""

    site: str
    url: str
    backend: str = "standalone"
    is_tape: bool = False
    catalog: Catalog | None = None
    protocol: str | None = None
    recall_delay: float = 1.0
    _storage: StorageBackend | None = field(default=None, repr=False)
    _prefix: str | None = field(default=None, repr=False)

    @property
    def storage(self) -> StorageBackend:
        """The storage backend (made on first use)."""
        if self._storage is None:
            self._storage = open_storage(self.url, is_tape=self.is_tape, delay=self.recall_delay)
        return self._storage

    def site_path(self, lfn: str) -> str:
        """The site path of ``lfn`` (PfnTranslationError when the catalog has no rule)."""
        if self.catalog is None:
            return normalize_path(lfn)
        protocol = self.protocol or urlsplit(self.url).scheme
        pfn = self.catalog.to_pfn(lfn, protocol)
        prefix = self.storage.url("/").rstrip("/")
        if not pfn.startswith(prefix):
            raise PfnTranslationError(
                f"{self.site}: PFN {pfn!r} of {lfn!r} is not under the endpoint {prefix!r}"
            )
        return normalize_path(pfn[len(prefix) :])

    def url_of(self, path: str) -> str:
        """The full PFN of a normalised site path (as :meth:`site_path` returns)."""
        if self._prefix is None:
            self._prefix = _url_prefix(self.storage)
        if self._prefix:
            return self._prefix + path
        return self.storage.url(path)


class Endpoints(Mapping[str, Endpoint]):
    """Site name -> Endpoint."""

    def __init__(self, endpoints: Mapping[str, Endpoint] | None = None) -> None:
        self._by_site = dict(endpoints or {})

    def __getitem__(self, site: str) -> Endpoint:
        return self._by_site[site]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_site)

    def __len__(self) -> int:
        return len(self._by_site)

    def backend_of(self, site: str) -> str | None:
        """The file-operation backend that serves ``site`` (None: the site is not configured)."""
        found = self._by_site.get(site)
        return None if found is None else found.backend


def _url_prefix(storage: StorageBackend) -> str:
    """The text the storage's URLs put before a site path, when they are that simple ("" when
    not): saves the adapter's path normalisation per task."""
    probe = storage.url("/probe")
    prefix = probe[: -len("/probe")] if probe.endswith("/probe") else ""
    if prefix and storage.url("/a/b.root") == prefix + "/a/b.root":
        return prefix
    return ""


def open_storage(url: str, *, is_tape: bool = False, delay: float = 1.0) -> StorageBackend:
    """The storage backend for an endpoint URL (see the module docstring)."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        if is_tape:
            return EmulatedTapeStorage(parts.path, recall_delay=delay)
        return PosixStorage(parts.path)
    if parts.scheme == "memory":
        return MemoryStorage(parts.netloc or "site")
    if parts.scheme in ("root", "xroot"):
        from dynamo.storage.xrootd import XRootDStorage

        return XRootDStorage(f"{parts.scheme}://{parts.netloc}", root=parts.path or "/")
    if parts.scheme in ("davs", "https", "http"):
        from dynamo.storage.http import WebDavStorage

        scheme = "https" if parts.scheme == "davs" else parts.scheme
        return WebDavStorage(f"{scheme}://{parts.netloc}", root=parts.path or "/")
    raise ConfigurationError(f"unsupported storage URL {url!r}")


def load_toml(path: str | Path) -> dict[str, Any]:
    """The TOML document at ``path`` (ConfigurationError names the file)."""
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"{path}: cannot read the configuration: {exc}") from exc


def endpoints_from_table(
    table: Mapping[str, Any], *, where: str = "<config>", base: Path | None = None
) -> Endpoints:
    """Endpoints from the ``[storage]`` table; ``where`` names the file in errors and ``base``
    is the directory relative catalog paths start from."""
    found: dict[str, Endpoint] = {}
    for site, entry in table.items():
        found[site] = _endpoint(site, entry, where, base or Path("."))
    return Endpoints(found)


def _endpoint(site: str, entry: Any, where: str, base: Path) -> Endpoint:
    key = f"storage.{site}"
    if not isinstance(entry, Mapping):
        raise ConfigurationError(f"{where}: [{key}] must be a table, not {entry!r}")
    unknown = sorted(set(entry) - _KEYS)
    if unknown:
        raise ConfigurationError(
            f"{where}: [{key}] unknown key {unknown[0]!r} (known: {', '.join(sorted(_KEYS))})"
        )
    url = entry.get("url")
    if not isinstance(url, str) or urlsplit(url).scheme not in _SCHEMES:
        raise ConfigurationError(
            f"{where}: {key}.url = {url!r}: give a URL with one of the schemes "
            f"{', '.join(sorted(_SCHEMES))}"
        )
    backend = entry.get("backend", "standalone")
    if backend not in BACKEND_NAMES:
        raise ConfigurationError(
            f"{where}: {key}.backend = {backend!r}: one of {', '.join(sorted(BACKEND_NAMES))}"
        )
    is_tape = entry.get("tape", False)
    if not isinstance(is_tape, bool) or (is_tape and urlsplit(url).scheme != "file"):
        raise ConfigurationError(
            f"{where}: {key}.tape = {is_tape!r}: true or false (tape is emulated on file:// only)"
        )
    delay = entry.get("recall_delay", 1.0)
    if not isinstance(delay, int | float) or delay < 0:
        raise ConfigurationError(f"{where}: {key}.recall_delay = {delay!r}: seconds >= 0")
    protocol = entry.get("protocol")
    catalog = None
    if "catalog" in entry:
        catalog_path = base / str(entry["catalog"])
        catalog = load_catalog(
            catalog_path, site=site, volume=entry.get("volume"), protocol=protocol
        )
    return Endpoint(
        site=site,
        url=url,
        backend=backend,
        is_tape=is_tape,
        catalog=catalog,
        protocol=protocol,
        recall_delay=float(delay),
    )
