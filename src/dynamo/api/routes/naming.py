"""GET /lfn2pfn: LFN -> PFN with each site's catalog; GET /stats/replication. Public.

Catalogs are configured per site in the server's TOML (``[catalogs]``: site name -> a CMS
``storage.xml`` or ``storage.json``) and loaded at start-up.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from starlette.requests import Request

from dynamo.api.deps import Service
from dynamo.errors import NotFoundError
from dynamo.model import StorageType
from dynamo.storage.tfc import TrivialFileCatalog

__all__ = ["router"]

router = APIRouter(tags=["naming", "statistics"])


class Translation(BaseModel):
    lfn: str
    pfn: str


class ReplicationKey(StrEnum):
    TIER = "tier"
    STATUS = "status"


class ReplicationRow(BaseModel):
    key: str
    datasets: int
    mean: float
    rms: float


async def catalogs_of(request: Request) -> Mapping[str, TrivialFileCatalog]:
    found: Mapping[str, TrivialFileCatalog] = getattr(request.app.state, "catalogs", {})
    return found


@router.get("/lfn2pfn", response_model=list[Translation])
async def lfn_to_pfn(
    catalogs: Annotated[Mapping[str, TrivialFileCatalog], Depends(catalogs_of)],
    site: Annotated[str, Query(min_length=1, description="Site name.")],
    protocol: Annotated[
        str, Query(min_length=1, description="Protocol of the catalog, e.g. xrootd.")
    ],
    lfn: Annotated[list[str], Query(min_length=1, description="One or more LFNs.")],
    destination: Annotated[str, Query(description="destination-match of the rules.")] = "",
) -> list[Translation]:
    """The PFN of each LFN at a site (400 naming the LFN when no rule matches)."""
    catalog = catalogs.get(site)
    if catalog is None:
        raise NotFoundError(f"no file catalog is configured for site {site!r}")
    return [
        Translation(lfn=name, pfn=catalog.to_pfn(name, protocol, destination=destination))
        for name in lfn
    ]


@router.get("/stats/replication", response_model=list[ReplicationRow])
async def replication_statistics(
    service: Service,
    by: Annotated[
        ReplicationKey, Query(description="Group datasets by this key.")
    ] = ReplicationKey.TIER,
) -> list[ReplicationRow]:
    """Mean and RMS of the number of full disk copies of the datasets of each group."""
    copies: dict[str, list[int]] = defaultdict(list)
    for dataset in service.inventory.datasets.values():
        key = dataset.name.rsplit("/", 1)[-1] if by is ReplicationKey.TIER else dataset.status.name
        full = sum(
            1
            for site, replica in dataset.replicas.items()
            if site.storage_type is StorageType.DISK and replica.is_full()
        )
        copies[key].append(full)
    rows = []
    for key, counts in copies.items():
        mean = sum(counts) / len(counts)
        rms = math.sqrt(sum((c - mean) ** 2 for c in counts) / len(counts))
        rows.append(
            ReplicationRow(key=key, datasets=len(counts), mean=round(mean, 4), rms=round(rms, 4))
        )
    return sorted(rows, key=lambda row: row.key)
