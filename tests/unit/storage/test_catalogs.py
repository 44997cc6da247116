"""LFN->PFN with real CMS catalogs (WMCore, CMSSW known answers) and catalogs of our own."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dynamo.errors import ConfigurationError
from dynamo.storage.catalogs import load_catalog
from dynamo.storage.naming import NoMatchingRuleError, UnknownProtocolError
from dynamo.storage.storage_json import load_storage_json
from dynamo.storage.tfc import parse_storage_xml

TFC = Path(__file__).parents[2] / "fixtures" / "tfc"
WMCORE, CMSSW, OWN = TFC / "WMCore", TFC / "cmssw", TFC / "own"

# WMCore's TrivialFileCatalog_t known answers (WMCore/SOURCE.txt), protocol srmv2.
WMCORE_KNOWN_ANSWERS = [
    (
        "T1_US_FNAL_TrivialFileCatalog.xml",
        "/store/data/my/data",
        "srm://cmssrm.fnal.gov:8443/srm/managerv2?SFN=/11/store/data/my/data",
    ),
    (
        "T2_CH_CERNBOX_TrivialFileCatalog.xml",
        "/store/user/fred/data",
        "root://eosuser.cern.ch/eos/user/f/fred/data",
    ),
    (
        "T2_US_Florida_TrivialFileCatalog.xml",
        "/store/user/fred/data",
        "srm://srm.ihepa.ufl.edu:8443/srm/v2/server?SFN=/cms/data/store/user/fred/data",
    ),
    (
        "T2_US_Nebraska_TrivialFileCatalog.xml",
        "/store/user/fred/data",
        "srm://dcache07.unl.edu:8443/srm/v2/server?SFN=/mnt/hadoop/user/uscms01/pnfs/unl.edu/data4/cms/store/user/fred/data",
    ),
]


@pytest.mark.parametrize(("catalog", "lfn", "pfn"), WMCORE_KNOWN_ANSWERS)
def test_real_tfcs_translate_wmcore_known_answers_exactly(catalog: str, lfn: str, pfn: str) -> None:
    assert load_catalog(WMCORE / catalog).to_pfn(lfn, "srmv2") == pfn


def test_fnal_tfc_translates_the_known_pfn_back_to_its_lfn() -> None:
    catalog = load_catalog(WMCORE / "T1_US_FNAL_TrivialFileCatalog.xml")
    pfn = "srm://cmssrm.fnal.gov:8443/srm/managerv2?SFN=/11/store/data/my/data"
    assert catalog.to_lfn(pfn, "srmv2") == "/store/data/my/data"


def test_cmssw_storage_json_gives_filelocator_known_answers() -> None:
    path = CMSSW / "FWCore_Catalog_test_storage.json"
    disk = load_catalog(path, volume="FNAL_dCache_EOS")
    assert (
        disk.to_pfn("/store/group/bha/bho", "XRootD")
        == "root://cmsdcadisk.fnal.gov//dcache/uscmsdisk/store/group/bha/bho"
    )
    federation = load_catalog(path, volume="American_Federation")
    assert (
        federation.to_pfn("/store/foo/bar", "XRootD") == "root://cmsxrootd.fnal.gov/store/foo/bar"
    )


@pytest.mark.parametrize("name", ["/bha/bho", "bha", "file:bha", "/castor/cern.ch/cms/bha/bho"])
def test_cmssw_storage_json_has_no_answer_for_names_outside_store(name: str) -> None:
    disk = load_catalog(CMSSW / "FWCore_Catalog_test_storage.json", volume="FNAL_dCache_EOS")
    with pytest.raises(NoMatchingRuleError):
        disk.to_pfn(name, "XRootD")


@pytest.mark.parametrize(
    ("volume", "protocol", "lfn", "pfn"),
    [
        (
            "FNAL_dCache_EOS",
            "XRootD",
            "/store/temp/user/a.root",
            "root://cmseos.fnal.gov//eos/uscms/store/temp/user/a.root",
        ),
        (
            "FNAL_dCache_EOS",
            "xrootd",
            "/store/mc/a.root",
            "root://cmsxrootd-site.fnal.gov//store/mc/a.root",
        ),
        (
            "FNAL_dCache_EOS",
            "SRMv2",
            "/store/mc/a.root",
            "srm://cmsdcadisk.fnal.gov:8443/srm/managerv2?SFN=/dcache/uscmsdisk/store/mc/a.root",
        ),
        (
            "FNAL_dCache_EOS",
            "WebDAV",
            "/store/mc/a.root",
            "davs://cmsdcadisk.fnal.gov:2880/dcache/uscmsdisk/store/mc/a.root",
        ),
        (
            "FNAL_MSS",
            "SRMv2",
            "/store/data/r.root",
            "srm://cmsdcatape.fnal.gov:8443/srm/managerv2?SFN=/11/store/data/r.root",
        ),
    ],
)
def test_fnal_storage_json_translates_each_volume_and_protocol(
    volume: str, protocol: str, lfn: str, pfn: str
) -> None:
    catalog = load_catalog(WMCORE / "T1_US_FNAL_storage.json", volume=volume)
    assert catalog.to_pfn(lfn, protocol) == pfn
    assert catalog.to_lfn(pfn, protocol) == lfn


@pytest.mark.parametrize(
    ("protocol", "lfn", "pfn"),
    [
        (
            "SRMv2",
            "/store/data/x.root",
            "srm://cmssrm-kit-tape.gridka.de:8443/srm/managerv2?SFN=/pnfs/gridka.de/cms/tape/store/data/x.root",
        ),
        (
            "WebDAV",
            "/store/temp/user/x.root",
            "davs://cmswebdav-kit-tape.gridka.de:2880/pnfs/gridka.de/cms/disk-only/store/temp/user/x.root",
        ),
        (
            "WebDAV",
            "/store/mc/x.root",
            "davs://cmswebdav-kit-tape.gridka.de:2880/pnfs/gridka.de/cms/tape/store/mc/x.root",
        ),
    ],
)
def test_kit_storage_json_chained_rules_go_both_ways(protocol: str, lfn: str, pfn: str) -> None:
    catalog = load_catalog(WMCORE / "T1_DE_KIT" / "storage.json", volume="KIT_MSS")
    assert catalog.to_pfn(lfn, protocol) == pfn
    assert catalog.to_lfn(pfn, protocol) == lfn


def test_kit_xrootd_module_rules_strip_the_test_prefix() -> None:
    catalog = load_catalog(WMCORE / "T1_DE_KIT" / "storage.json", volume="KIT_dCache")
    assert (
        catalog.to_pfn("/store/test/xrootd/T1_DE_KIT/store/mc/a", "xrootd-module")
        == "/pnfs/gridka.de/cms/disk-only/store/mc/a"
    )
    assert (
        catalog.to_pfn("/store/mc/a", "xrootd-module") == "/pnfs/gridka.de/cms/disk-only/store/mc/a"
    )


def test_storage_json_keeps_site_metadata() -> None:
    description = load_storage_json(WMCORE / "T1_US_FNAL_storage.json")
    tape = description.volume(volume="FNAL_MSS")
    assert (tape.site, tape.type, tape.rse) == ("T1_US_FNAL", "TAPE", "T1_US_FNAL_Tape")
    assert [p.protocol for p in tape.protocols] == ["SRMv2", "WebDAV"]


@pytest.mark.parametrize(
    ("protocol", "destination", "lfn", "pfn"),
    [
        ("direct", "", "/store/unmerged/a/b", "/scratch/unmerged/a/b"),
        ("direct", "", "/store/mc/a", "/data/cms/store/mc/a"),
        ("direct", "", "/LoadTest/file_17", "/data/LoadTest/17/file"),
        ("direct", "", "/fixed", "/data/fixed-file"),
        (
            "srmv2",
            "",
            "/store/unmerged/u",
            "srm://se.example.org:8443/srm/v2/server?SFN=/scratch/unmerged/u",
        ),
        (
            "srmv2",
            "",
            "/store/mc/a",
            "srm://se.example.org:8443/srm/v2/server?SFN=/data/cms/store/mc/a",
        ),
        ("gsiftp", "", "/store/mc/a", "gsiftp://gridftp.example.org/data/cms/store/mc/a"),
        ("xrootd", "T1_US_FNAL_Disk", "/store/mc/a", "root://t1door.example.org//store/mc/a"),
        ("xrootd", "T2_CH_CERN", "/store/mc/a", "root://xrootd.example.org//store/mc/a"),
        ("xrootd", "", "/store/mc/a", "root://xrootd.example.org//store/mc/a"),
    ],
)
def test_own_tfc_covers_every_construct_both_ways(
    protocol: str, destination: str, lfn: str, pfn: str
) -> None:
    catalog = load_catalog(OWN / "chained_storage.xml")
    assert catalog.to_pfn(lfn, protocol, destination=destination) == pfn
    if lfn != "/fixed":
        assert catalog.to_lfn(pfn, protocol, destination=destination) == lfn


@pytest.mark.parametrize(
    ("volume", "protocol", "lfn", "pfn"),
    [
        ("Example_Disk", "posix", "/store/temp/t", "/fast/temp/t"),
        ("Example_Disk", "posix", "/store/mc/m", "/disk/cms/store/mc/m"),
        ("Example_Disk", "XRootD", "/store/mc/m", "root://xrootd.example.org//store/mc/m"),
        (
            "Example_Disk",
            "WebDAV",
            "/store/mc/m",
            "davs://webdav.example.org:2880/disk/cms/store/mc/m",
        ),
        (
            "Example_Disk",
            "SRMv2",
            "/store/temp/t",
            "srm://srm.example.org:8443/srm/managerv2?SFN=/fast/temp/t",
        ),
        (
            "Example_Disk",
            "root-chained",
            "/store/mc/m",
            "root://door.example.org//disk/cms/store/mc/m",
        ),
        (
            "Example_Tape",
            "SRMv2",
            "/store/mc/m",
            "srm://tape.example.org:8443/srm/managerv2?SFN=/tape/mc/m",
        ),
    ],
)
def test_own_storage_json_covers_every_construct(
    volume: str, protocol: str, lfn: str, pfn: str
) -> None:
    catalog = load_catalog(OWN / "storage.json", volume=volume)
    assert catalog.to_pfn(lfn, protocol) == pfn
    if volume == "Example_Disk":
        assert catalog.to_lfn(pfn, protocol) == lfn


def test_an_unknown_protocol_is_a_typed_error_naming_the_known_ones() -> None:
    catalog = load_catalog(WMCORE / "T2_CH_CERNBOX_TrivialFileCatalog.xml")
    with pytest.raises(UnknownProtocolError, match=r"'davs'.*srmv2"):
        catalog.to_pfn("/store/user/x", "davs")


def test_no_matching_rule_names_the_protocol_and_the_name() -> None:
    catalog = load_catalog(WMCORE / "T2_CH_CERNBOX_TrivialFileCatalog.xml")
    with pytest.raises(NoMatchingRuleError, match=r"'srmv2'.*'/other/x'"):
        catalog.to_pfn("/other/x", "srmv2")


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        (
            "<storage-mapping><lfn-to-pfn protocol='a' path-match='(' result='x'/></storage-mapping>",
            "bad regular",
        ),
        (
            "<storage-mapping><lfn-to-pfn protocol='a' path-match='x' result='$2'/></storage-mapping>",
            "group 2",
        ),
        (
            "<storage-mapping><lfn-to-pfn protocol='a' path-match='x'/></storage-mapping>",
            "needs protocol",
        ),
        (
            "<storage-mapping><lfn-to-pfn protocol='a' chain='b' path-match='x' result='y'/></storage-mapping>",
            "chains to 'b'",
        ),
        (
            "<storage-mapping><lfn-to-pfn protocol='a' chain='a' path-match='x' result='y'/></storage-mapping>",
            "loops",
        ),
        ("<storage-mapping/>", "no lfn-to-pfn"),
        ("<storage-mapping", "well-formed"),
    ],
)
def test_malformed_catalogs_are_refused_with_a_reason(xml: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        parse_storage_xml(xml)


SEGMENT = st.text(alphabet="abcXYZ019_-.", min_size=1, max_size=12).filter(
    lambda s: s not in {".", ".."}
)


@given(st.lists(SEGMENT, min_size=1, max_size=6))
def test_real_and_own_catalogs_round_trip_any_store_lfn(segments: list[str]) -> None:
    lfn = "/store/" + "/".join(segments)
    fnal = load_catalog(WMCORE / "T1_US_FNAL_TrivialFileCatalog.xml")
    for protocol in ("srmv2", "srm", "direct"):
        assert fnal.to_lfn(fnal.to_pfn(lfn, protocol), protocol) == lfn
    own = load_catalog(OWN / "chained_storage.xml")
    for protocol in ("direct", "srmv2", "gsiftp", "xrootd"):
        assert own.to_lfn(own.to_pfn(lfn, protocol), protocol) == lfn
