"""Loading a site catalog from a file of either CMS format."""

from __future__ import annotations

from pathlib import Path

from dynamo.errors import ConfigurationError
from dynamo.storage.storage_json import parse_storage_json
from dynamo.storage.tfc import TrivialFileCatalog, parse_storage_xml

__all__ = ["load_catalog"]


def load_catalog(
    path: str | Path,
    *,
    site: str | None = None,
    volume: str | None = None,
    protocol: str | None = None,
) -> TrivialFileCatalog:
    """The catalog in ``path``: a ``storage.xml`` TFC or a ``storage.json`` (told by content).

    For storage.json, the volume is the first that matches ``site``, ``volume`` and has rules
    for ``protocol`` (each criterion optional). ConfigurationError when nothing fits.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"{path}: cannot read: {exc.strerror}") from exc
    start = text.lstrip()[:1]
    try:
        if start == "<":
            return parse_storage_xml(text)
        if start in "[{":
            description = parse_storage_json(text)
            return description.volume(site=site, volume=volume, protocol=protocol).catalog
    except ConfigurationError as exc:
        raise ConfigurationError(f"{path}: {exc}") from exc
    raise ConfigurationError(f"{path}: neither a storage.xml nor a storage.json")
