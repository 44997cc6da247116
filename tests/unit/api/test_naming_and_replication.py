from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from dynamo.api.app import create_app
from dynamo.server.service import InventoryService
from dynamo.storage.catalogs import load_catalog

TFC = (
    Path(__file__).parents[2]
    / "fixtures"
    / "tfc"
    / "WMCore"
    / "T2_US_Nebraska_TrivialFileCatalog.xml"
)
# The known answer WMCore's tests give for this real catalog (tests/fixtures/tfc/WMCore/SOURCE.txt).
LFN = "/store/user/fred/data"
PFN = "srm://dcache07.unl.edu:8443/srm/v2/server?SFN=/mnt/hadoop/user/uscms01/pnfs/unl.edu/data4/cms/store/user/fred/data"


@pytest.fixture
async def named(service: InventoryService) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(service, catalogs={"T2_US_Nebraska": load_catalog(TFC)})
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        yield client


async def test_lfn2pfn_translates_with_the_sites_real_catalog(named: httpx.AsyncClient) -> None:
    response = await named.get(
        "/api/v1/lfn2pfn", params={"site": "T2_US_Nebraska", "protocol": "srmv2", "lfn": [LFN, LFN]}
    )
    assert response.status_code == 200
    assert response.json() == [{"lfn": LFN, "pfn": PFN}, {"lfn": LFN, "pfn": PFN}]


async def test_lfn2pfn_errors_name_the_site_or_the_protocol(named: httpx.AsyncClient) -> None:
    no_catalog = await named.get(
        "/api/v1/lfn2pfn", params={"site": "T2_XX_None", "protocol": "srmv2", "lfn": LFN}
    )
    assert no_catalog.status_code == 404
    assert "T2_XX_None" in no_catalog.json()["error"]["message"]
    bad_protocol = await named.get(
        "/api/v1/lfn2pfn",
        params={"site": "T2_US_Nebraska", "protocol": "carrier-pigeon", "lfn": LFN},
    )
    assert bad_protocol.status_code == 400
    assert "carrier-pigeon" in bad_protocol.json()["error"]["message"]


async def test_replication_statistics_count_full_disk_copies(client: httpx.AsyncClient) -> None:
    rows = (await client.get("/api/v1/stats/replication", params={"by": "tier"})).json()
    # The one AOD dataset has a disk replica at T2_US_MIT that misses part of a block: not full.
    assert rows == [{"key": "AOD", "datasets": 1, "mean": 0.0, "rms": 0.0}]
