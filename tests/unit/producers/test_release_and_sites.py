"""``release`` flags the newest production release of each cycle; ``protected_sites`` flags
datasets with a replica at a listed site."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from dynamo.errors import ConfigurationError
from dynamo.model import Inventory, UpsertDataset
from dynamo.policy import Attributes
from dynamo.producers import ProducerSources, build_producers
from dynamo.producers.release import IS_LATEST_PRODUCTION_RELEASE, newest_minors, parse_release
from dynamo.producers.sites import ON_PROTECTED_SITE
from unit.policy.builders import NOW, Builder

VERSIONS = {
    "/A/X-v1/AOD": (10, 6, 12, ""),
    "/B/X-v1/AOD": (10, 6, 12, "patch1"),
    "/C/X-v1/AOD": (10, 6, 4, ""),
    "/D/X-v1/AOD": (10, 2, 5, ""),
    "/E/X-v1/AOD": (9, 4, 0, ""),
    "/F/X-v1/AOD": None,
}


@pytest.fixture(scope="module")
def inventory() -> Inventory:
    b = Builder().site("T2_US_MIT").site("T2_DE_DESY").site("T1_US_FNAL_MSS", mss=True)
    for name, version in VERSIONS.items():
        b.dataset(name, blocks=1)
        b.ops.append(UpsertDataset(name=name, software_version=version))
    b.replica("/A/X-v1/AOD", "T2_US_MIT").replica("/B/X-v1/AOD", "T2_DE_DESY")
    b.replica("/C/X-v1/AOD", "T1_US_FNAL_MSS").replica("/C/X-v1/AOD", "T2_US_MIT")
    return b.build()


def flagged(
    inventory: Inventory, name: str, config: Mapping[str, object], base_dir: Path | None = None
) -> set[str]:
    sources = ProducerSources() if base_dir is None else ProducerSources(base_dir=base_dir)
    (producer,) = build_producers({name: config}, sources)
    attributes = Attributes()
    producer.load(inventory, attributes, NOW)
    (attribute,) = producer.produces
    values = attributes.dataset.get(attribute, {})
    assert all(value is True for value in values.values())
    return set(values)


@pytest.mark.parametrize(
    ("text", "release"),
    [
        ("10_6_12", (10, 6, 12, "")),
        ("CMSSW_10_6_12_patch1", (10, 6, 12, "patch1")),
        (" 9_4_0 ", (9, 4, 0, "")),
    ],
)
def test_releases_parse_with_an_optional_prefix_and_suffix(
    text: str, release: tuple[int, int, int, str]
) -> None:
    assert parse_release(text) == release


@pytest.mark.parametrize("text", ["10_6", "10.6.12", "CMSSW_10_6_x", ""])
def test_a_malformed_release_is_a_configuration_error(text: str) -> None:
    with pytest.raises(ConfigurationError, match="is not a release"):
        parse_release(text)


def test_the_newest_release_of_a_cycle_has_the_highest_third_number() -> None:
    releases = [(10, 6, 4, ""), (10, 6, 12, "patch2"), (10, 6, 8, ""), (10, 2, 5, "")]
    assert newest_minors(releases) == {(10, 6): 12, (10, 2): 5}


def test_datasets_of_the_newest_release_of_their_cycle_are_flagged_whatever_the_suffix(
    inventory: Inventory,
) -> None:
    config = {"releases": ["10_6_4", "CMSSW_10_6_12", "10_2_5_patch3"]}
    found = flagged(inventory, "release", config)
    assert found == {"/A/X-v1/AOD", "/B/X-v1/AOD", "/D/X-v1/AOD"}
    assert IS_LATEST_PRODUCTION_RELEASE == "is_latest_production_release"


def test_releases_can_come_from_a_file_relative_to_the_config_directory(
    inventory: Inventory, tmp_path: Path
) -> None:
    (tmp_path / "releases.txt").write_text("# production\n10_6_4\n\n10_6_12  # newest\n")
    found = flagged(inventory, "release", {"file": "releases.txt"}, tmp_path)
    assert found == {"/A/X-v1/AOD", "/B/X-v1/AOD"}


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({}, "exactly one of"),
        ({"releases": ["10_6_4"], "file": "r.txt"}, "exactly one of"),
        ({"file": "missing.txt"}, "cannot read the releases file"),
        ({"releases": "10_6"}, "is not a release"),
        ({"releases": [10]}, "must be a string or a list"),
    ],
)
def test_the_release_producer_refuses_bad_configuration(
    config: dict[str, object], message: str, tmp_path: Path
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        build_producers({"release": config}, ProducerSources(base_dir=tmp_path))


@pytest.mark.parametrize(
    ("sites", "expected"),
    [
        ([], set()),
        (["T2_US_MIT"], {"/A/X-v1/AOD", "/C/X-v1/AOD"}),
        (["T2_*"], {"/A/X-v1/AOD", "/B/X-v1/AOD", "/C/X-v1/AOD"}),
        (["*_MSS", "T2_DE_*"], {"/B/X-v1/AOD", "/C/X-v1/AOD"}),
        (["t2_us_mit"], set()),
    ],
)
def test_datasets_with_a_replica_at_a_protected_site_are_flagged(
    inventory: Inventory, sites: list[str], expected: set[str]
) -> None:
    assert flagged(inventory, "protected_sites", {"sites": sites}) == expected
    assert ON_PROTECTED_SITE == "on_protected_site"


def test_protected_sites_without_sites_flags_nothing(inventory: Inventory) -> None:
    assert flagged(inventory, "protected_sites", {}) == set()
    with pytest.raises(ConfigurationError, match="'sites' must be"):
        build_producers({"protected_sites": {"sites": [""]}}, ProducerSources())
