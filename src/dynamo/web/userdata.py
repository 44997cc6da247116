"""The user-data page: ``/userdata`` shows the UserData partition's health (per site: quota,
use, ok / warn / alarm; overall: the unique data against the sum of the quotas), the usage of
each user at each site, and the user datasets with their state and sites."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from dynamo.userdata import UserDataService, partition_health, usage
from dynamo.userdata.records import read_datasets
from dynamo.web.rendering import missing, page

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/userdata", response_class=HTMLResponse)
async def userdata_page(request: Request) -> HTMLResponse:
    userdata: UserDataService | None = getattr(request.app.state, "userdata", None)
    if userdata is None:
        return missing(request, "user data (this server's inventory is in memory)")
    records = await asyncio.to_thread(read_datasets, userdata.engine)
    inventory = userdata.writer.inventory
    health = partition_health(inventory, userdata.options, [r.name for r in records])
    datasets = []
    for record in records:
        found = inventory.datasets.get(record.name)
        sites = sorted({s.name for s in found.replicas}) if found is not None else []
        state = "open"
        if record.deleted is not None:
            state = "deleting" if found is not None else "deleted"
        elif record.consolidated is not None:
            state = "consolidated"
        elif record.target_site is not None:
            state = "transferring"
        elif record.completed is not None:
            state = "complete"
        datasets.append(
            {
                "record": record,
                "state": state,
                "files": found.num_files if found is not None else 0,
                "size": found.size if found is not None else 0,
                "blocks": len(found.blocks) if found is not None else 0,
                "sites": sites,
            }
        )
    return page(
        request,
        "userdata.html",
        health=health,
        usage=usage(inventory),
        datasets=datasets,
    )
