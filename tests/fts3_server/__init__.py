"""An FTS3-compatible TEST DOUBLE: a small HTTPS server speaking the subset of the FTS3 REST API
that :mod:`dynamo.fileops.fts3` uses. It is not FTS3 and does not pretend to be one.

No real FTS3 can be installed here, so the FTS3 backend's integration tests run against this.
What is real: TLS with client certificates and RFC 3820 proxies verified against a CA
directory (the caller's DN is the certificate owner's, as FTS3 would take it, and ``whoami``
returns it); the JSON shapes of fts-rest (``tests/fixtures/fts-rest``); the bytes moved, by
Dynamo's storage backends, with real adler32 checks (a mismatch fails the file with a
``CHECKSUM MISMATCH`` reason); deletions; bring-online against tape backends
(:class:`dynamo.storage.EmulatedTapeStorage`). What is not: delegation, VOMS, the optimizer,
retries, multi-source selection, scheduling, persistence.

Routes: ``GET /whoami``, ``POST /jobs``, ``GET /jobs`` (``state_in``, ``user_dn``,
``vo_name``), ``GET /jobs/{id}`` (``files=field,...``), ``GET /jobs/{id}/files``,
``GET /jobs/{id}/dm``, ``DELETE /jobs/{id}``, ``DELETE /jobs/{id}/files/{id,...}``.

Usage::

    with Fts3TestServer(storages, pki=grid) as server:
        client = Fts3Client(server.url, cert=..., ca_dir=grid.ca_dir)
"""

from __future__ import annotations

from fts3_server.jobs import Job, JobFile, JobRunner
from fts3_server.rest import Fts3TestServer

__all__ = ["Fts3TestServer", "Job", "JobFile", "JobRunner"]
