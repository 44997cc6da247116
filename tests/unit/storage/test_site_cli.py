"""`dynamo site pfn`: translation lines, JSON, reverse, and errors that name what failed."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from dynamo.cli.site import site_app

TFC = Path(__file__).parents[2] / "fixtures" / "tfc"
FNAL_XML = str(TFC / "WMCore" / "T1_US_FNAL_TrivialFileCatalog.xml")
KIT_JSON = str(TFC / "WMCore" / "T1_DE_KIT" / "storage.json")
FNAL_PFN = "srm://cmssrm.fnal.gov:8443/srm/managerv2?SFN=/11/store/data/my/data"

runner = CliRunner()


def test_pfn_prints_one_line_per_lfn() -> None:
    result = runner.invoke(
        site_app, ["pfn", "--catalog", FNAL_XML, "-p", "srmv2", "/store/data/my/data"]
    )
    assert result.exit_code == 0
    assert result.stdout == f"/store/data/my/data -> {FNAL_PFN}\n"


def test_reverse_translates_pfns_back_and_json_lists_results() -> None:
    args = ["pfn", "--catalog", FNAL_XML, "-p", "srmv2", "--reverse", "--json", FNAL_PFN]
    result = runner.invoke(site_app, args)
    assert result.exit_code == 0
    assert json.loads(result.stdout) == [{"name": FNAL_PFN, "result": "/store/data/my/data"}]


def test_storage_json_picks_the_volume_with_the_protocol() -> None:
    result = runner.invoke(site_app, ["pfn", "--catalog", KIT_JSON, "-p", "SRMv2", "/store/mc/a"])
    assert result.exit_code == 0
    assert "SFN=/pnfs/gridka.de/cms/tape/store/mc/a" in result.stdout


def test_a_name_without_a_matching_rule_exits_non_zero_naming_protocol_and_name() -> None:
    result = runner.invoke(site_app, ["pfn", "--catalog", FNAL_XML, "-p", "srmv2", "/other/x"])
    assert result.exit_code == 1
    assert "'srmv2'" in result.stderr
    assert "/other/x" in result.stderr


def test_an_unknown_protocol_exits_non_zero_naming_protocol_and_name() -> None:
    for catalog in (FNAL_XML, KIT_JSON):
        result = runner.invoke(site_app, ["pfn", "--catalog", catalog, "-p", "nope", "/store/x"])
        assert result.exit_code == 1, catalog
        assert "'nope'" in result.stderr
        assert "/store/x" in result.stderr


def test_an_unreadable_catalog_is_a_configuration_error() -> None:
    result = runner.invoke(site_app, ["pfn", "--catalog", "/no/such/file.xml", "/store/x"])
    assert result.exit_code == 2
    assert "cannot read" in result.stderr
