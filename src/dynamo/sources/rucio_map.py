"""How Rucio's answers become source records (``docs/sources.md``, "Rucio"): pure functions.

- an RSE is a site of the same name:

  - storage type: MSS when ``rse_type`` is TAPE or the ``type`` attribute says TAPE or MSS;
    BUFFER when the RSE is ``volatile`` (a cache) or a ``staging_area``; else DISK;
  - status: MORGUE when the ``decommission`` attribute is set; WAITROOM when it is not
    readable or not writable (``availability_read``/``availability_write``; the Dealer then
    sends nothing there); else READY;
  - host and backend: the protocol with the best WAN read priority (``root://host:1094/store/``);
  - quota: with a quota partition configured, that partition's quota at the site is the RSE's
    capacity, ``MaxSpaceAvailable`` (a limit) or else the total of the ``storage`` usage
    source, minus the ``MinFreeSpace`` limit (at least 0); no capacity known, no quota;
  - account quotas: for each (partition, account) pair configured, that partition's quota at
    the site is the account's local limit at the RSE (:func:`local_limits`): the bytes, -1
    (unlimited) for Rucio's unlimited, 0 where the account has no local limit (Rucio lets it
    place nothing there). Global limits (bytes over an RSE expression) are not mapped.

- an account with an X509 identity is a user of that name with the DN (comma forms are
  normalised as the user directory does); the first DN in sorted order when it has several;
  ``roles`` None: Rucio does not know Dynamo's roles, so the grants Dynamo has are kept.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, Final

from dynamo.dn import InvalidDnError, normalize_dn
from dynamo.model import SiteStatus, StorageType
from dynamo.sources.records import SourceSite, SourceUser

__all__ = ["local_limits", "site_of_rse", "user_of_account"]

_TAPE_TYPES: Final = {"TAPE", "MSS"}
_TRUE: Final = {"true", "1", "yes"}


def _flag(value: object) -> bool:
    return value is True or str(value).lower() in _TRUE


def site_of_rse(
    rse: Mapping[str, Any],
    attributes: Mapping[str, Any],
    usage: Iterable[Mapping[str, Any]],
    limits: Mapping[str, Any],
    *,
    quota_partition: str | None,
    account_quotas: Mapping[str, Mapping[str, int]] | None = None,
) -> SourceSite:
    """The site of one RSE: ``rse`` is ``GET /rses/{rse}`` (with its protocols), the others
    ``/attr/``, ``/usage`` (one record per source) and ``/limits``; ``account_quotas`` the
    :func:`local_limits` of each partition's account."""
    kind = str(attributes.get("type", "")).upper()
    if rse.get("rse_type") == "TAPE" or kind in _TAPE_TYPES:
        storage_type = StorageType.MSS
    elif rse.get("volatile") or rse.get("staging_area"):
        storage_type = StorageType.BUFFER
    else:
        storage_type = StorageType.DISK
    if _flag(attributes.get("decommission", False)):
        status = SiteStatus.MORGUE
    elif not rse.get("availability_read", True) or not rse.get("availability_write", True):
        status = SiteStatus.WAITROOM
    else:
        status = SiteStatus.READY
    host, backend = _endpoint(rse.get("protocols") or [])
    name = str(rse["rse"])
    quotas = tuple(
        (partition, by_rse.get(name, 0)) for partition, by_rse in (account_quotas or {}).items()
    )
    capacity = _capacity(usage, limits)
    if quota_partition is not None and capacity is not None:
        quotas += ((quota_partition, capacity),)
    return SourceSite(
        name=name,
        host=host,
        storage_type=storage_type,
        backend=backend,
        status=status,
        quotas=quotas,
    )


def _endpoint(protocols: Iterable[Mapping[str, Any]]) -> tuple[str, str]:
    """(host, backend URL) of the protocol with the best (lowest, non-zero) WAN read priority."""
    ranked = []
    for protocol in protocols:
        read = ((protocol.get("domains") or {}).get("wan") or {}).get("read") or 0
        if read > 0:
            ranked.append((read, protocol))
    if not ranked:
        return "", ""
    _, best = min(ranked, key=lambda item: item[0])
    host = str(best.get("hostname") or "")
    port = best.get("port")
    netloc = f"{host}:{port}" if port else host
    return host, f"{best.get('scheme')}://{netloc}{best.get('prefix') or ''}"


def _capacity(usage: Iterable[Mapping[str, Any]], limits: Mapping[str, Any]) -> int | None:
    total = limits.get("MaxSpaceAvailable")
    if total is None:
        total = next(
            (u.get("total") for u in usage if u.get("source") == "storage" and u.get("total")),
            None,
        )
    if total is None:
        return None
    return max(0, int(total) - int(limits.get("MinFreeSpace") or 0))


def local_limits(answer: Mapping[str, Any]) -> dict[str, int]:
    """``GET /accounts/{a}/limits/local`` (bytes by RSE; Rucio's unlimited, -1 stored, comes
    as infinity) as quotas: bytes by RSE, -1 unlimited."""
    quotas = {}
    for rse, limit in answer.items():
        value = float(limit)
        quotas[str(rse)] = -1 if value == math.inf or value < 0 else int(value)
    return quotas


def user_of_account(account: str, identities: Iterable[Mapping[str, Any]]) -> SourceUser | None:
    """The user of a Rucio account (None without a usable X509 identity)."""
    dns = set()
    for identity in identities:
        if str(identity.get("type", "")).upper() != "X509":
            continue
        try:
            dns.add(normalize_dn(str(identity.get("identity", ""))))
        except InvalidDnError:
            continue
    if not dns or len(account) > 64:
        return None
    return SourceUser(name=account, dn=min(dns), roles=None)
