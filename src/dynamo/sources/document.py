"""The base of the adapters that read one whole document (a JSON file, a directory of CSV
files): the document is read once per instance and every port returns its own section.

Such a source has no notion of ``since``: an incremental sync from it takes the document as
the delta (its ``deleted`` lists are read).
"""

from __future__ import annotations

from dynamo.sources.records import Snapshot

__all__ = ["DocumentSource"]


class DocumentSource:
    """A Source over one document, parsed by :meth:`_load` on first use."""

    name: str

    def __init__(self) -> None:
        self._snapshot: Snapshot | None = None

    def _load(self) -> Snapshot:
        """The whole document; SourceError if unreadable, SourceFormatError if malformed."""
        raise NotImplementedError

    def _only(self, section: str) -> Snapshot:
        if self._snapshot is None:
            self._snapshot = self._load()
        return self._snapshot.only(section)

    def catalog(self, since: int | None) -> Snapshot:
        return self._only("datasets")

    def replicas(self, since: int | None) -> Snapshot:
        return self._only("replicas")

    def sites(self) -> Snapshot:
        return self._only("sites")

    def groups(self) -> Snapshot:
        return self._only("groups")

    def popularity(self, since: int | None) -> Snapshot:
        return self._only("popularity")

    def users(self) -> Snapshot:
        return self._only("users")

    def demand(self, since: int | None) -> Snapshot:
        return self._only("demand")

    def close(self) -> None:
        """Nothing to release: the document is read whole on first use."""
