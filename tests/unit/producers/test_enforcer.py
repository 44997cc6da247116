"""The ``enforcer`` producer protects ``num_copies`` replicas per dataset for ``protect`` rules."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from dynamo.errors import ConfigurationError
from dynamo.model import Inventory
from dynamo.policy import Attributes, Context, PolicySyntaxError, parse_condition
from dynamo.policy.attributes import ENFORCER_PROTECTED
from dynamo.producers import ProducerSources, build_producers
from dynamo.producers.enforcer import DatasetNames, EnforcerProducer, dataset_names_of
from unit.policy.builders import NOW, POLICIES, Builder

RULES = POLICIES / "common"
FNAL, MIT, CALTECH, DESY, PURDUE, CERN = (
    "T1_US_FNAL_Disk",
    "T2_US_MIT",
    "T2_US_Caltech",
    "T2_DE_DESY",
    "T2_US_Purdue",
    "T2_CH_CERN",
)


@pytest.fixture(scope="module")
def inventory() -> Inventory:
    b = Builder().group("local")
    for site in (FNAL, MIT, CALTECH, DESY, PURDUE, CERN):
        b.site(site)
    # usa_miniaod: one copy at US sites but Caltech; a full replica before an incomplete one
    b.dataset("/A/Run2018A-v1/MINIAOD").replica("/A/Run2018A-v1/MINIAOD", FNAL, incomplete=(1,))
    b.replica("/A/Run2018A-v1/MINIAOD", MIT).replica("/A/Run2018A-v1/MINIAOD", DESY)
    # two full US copies: the first site name wins
    b.dataset("/B/Run2018A-v1/MINIAOD").replica("/B/Run2018A-v1/MINIAOD", MIT)
    b.replica("/B/Run2018A-v1/MINIAOD", FNAL)
    # only at Caltech (excluded) and outside the US: nothing to protect
    b.dataset("/C/Run2018A-v1/MINIAOD").replica("/C/Run2018A-v1/MINIAOD", CALTECH)
    b.replica("/C/Run2018A-v1/MINIAOD", DESY)
    # reliable_aod does not protect
    b.dataset("/D/Run2018A-v1/AOD").replica("/D/Run2018A-v1/AOD", MIT)
    # usa_miniaod keeps Purdue, caltech_xrootdcache_test keeps DESY (T2_DE < T2_US)
    e = "/E/Run2017B-31Mar2018-v1/MINIAOD"
    b.dataset(e).replica(e, PURDUE).replica(e, DESY)
    # the FNAL replica is outside the Physics partition (owner "local"), so MIT is kept
    b.dataset("/F/Run2018A-v1/MINIAOD").replica("/F/Run2018A-v1/MINIAOD", FNAL, "local")
    b.replica("/F/Run2018A-v1/MINIAOD", MIT)
    # RelVal-owned copies, for a rule reading block owners
    b.dataset("/RelValG/CMSSW_10_6_0-v1/GEN").replica(
        "/RelValG/CMSSW_10_6_0-v1/GEN", FNAL, "RelVal"
    )
    b.replica("/RelValG/CMSSW_10_6_0-v1/GEN", CERN, "RelVal")
    b.replica("/RelValG/CMSSW_10_6_0-v1/GEN", DESY, "RelVal")
    return b.build()


def protected(inventory: Inventory, producer: EnforcerProducer) -> set[tuple[str, str]]:
    attributes = Attributes()
    producer.load(inventory, attributes, NOW)
    values = attributes.replica.get(ENFORCER_PROTECTED, {})
    assert all(value is True for value in values.values())
    return set(values)


def build(config: dict[str, object], base_dir: Path = RULES) -> EnforcerProducer:
    (producer,) = build_producers({"enforcer": config}, ProducerSources(base_dir=base_dir))
    assert isinstance(producer, EnforcerProducer)
    return producer


def test_the_physics_rules_protect_one_copy_per_dataset_at_the_destinations(
    inventory: Inventory,
) -> None:
    assert protected(inventory, build({"rules": "enforcer_rules_physics.json"})) == {
        ("/A/Run2018A-v1/MINIAOD", MIT),
        ("/B/Run2018A-v1/MINIAOD", FNAL),
        ("/E/Run2017B-31Mar2018-v1/MINIAOD", PURDUE),
        ("/E/Run2017B-31Mar2018-v1/MINIAOD", DESY),
        ("/F/Run2018A-v1/MINIAOD", MIT),
    }


def test_rules_without_protect_protect_nothing(inventory: Inventory) -> None:
    assert protected(inventory, build({"rules": ["enforcer_rules_relval.json"]})) == set()


def write_rules(tmp_path: Path, rule: dict[str, object], partition: str = "RelVal") -> Path:
    path = tmp_path / "rules.json"
    path.write_text(json.dumps({"partition": partition, "rules": {"r": rule}}))
    return path


@pytest.mark.parametrize(
    ("num_copies", "expected"),
    [(0, set()), (1, {FNAL}), (2, {CERN, FNAL}), (5, {CERN, DESY, FNAL})],
)
def test_a_rule_on_block_owners_keeps_num_copies_in_site_name_order(
    inventory: Inventory, tmp_path: Path, num_copies: int, expected: set[str]
) -> None:
    rule = {
        "replicas": ["blockreplica.owner == RelVal"],
        "num_copies": num_copies,
        "destinations": ["site.name == T*"],
        "protect": True,
    }
    producer = build({"rules": str(write_rules(tmp_path, rule))})
    found = protected(inventory, producer)
    assert found == {("/RelValG/CMSSW_10_6_0-v1/GEN", site) for site in expected}


def test_rules_of_an_unknown_partition_apply_to_whole_replicas(
    inventory: Inventory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rule = {
        "replicas": ["dataset.name == /F/Run2018A-v1/MINIAOD"],
        "num_copies": 1,
        "destinations": ["site.name == T*"],
        "protect": True,
    }
    producer = build({"rules": str(write_rules(tmp_path, rule, partition="NoSuch"))})
    with caplog.at_level(logging.WARNING, logger="dynamo.producers.enforcer"):
        assert protected(inventory, producer) == {("/F/Run2018A-v1/MINIAOD", FNAL)}
    assert "no such partition" in caplog.text


def test_without_rules_nothing_is_protected_and_a_warning_says_so_once(
    inventory: Inventory, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="dynamo.producers.enforcer"):
        producer = build({})
        assert protected(inventory, producer) == set()
        assert protected(inventory, producer) == set()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "no rules configured" in warnings[0].getMessage()


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"rules": 3}, "'rules' must be a string or a list"),
        ({"rules": ["missing.json"]}, "cannot read the rules file"),
        ({"rule": "enforcer_rules_physics.json"}, "unknown key(s) 'rule'"),
    ],
)
def test_bad_configuration_is_refused_with_the_key_named(
    config: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        build(config)
    assert message in str(caught.value)


def test_a_rules_file_that_does_not_parse_points_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"rules": {"r": {"replicas": ["dataset.nmae == /A/B/C"]}}}')
    with pytest.raises(PolicySyntaxError) as caught:
        build({"rules": str(path)})
    assert str(caught.value).startswith(f"{path}:1:")


@pytest.mark.parametrize(
    ("condition", "names"),
    [
        ("dataset.name == /A/B/C", DatasetNames(frozenset({"/A/B/C"}), ())),
        ("dataset.name == /*/*/AOD", DatasetNames(frozenset(), ("/*/*/AOD",))),
        ("dataset.name in [/A/B/C /*/X/*]", DatasetNames(frozenset({"/A/B/C"}), ("/*/X/*",))),
        (
            "blockreplica.owner == RelVal and dataset.name == /*/*/AOD",
            DatasetNames(frozenset(), ("/*/*/AOD",)),
        ),
        (
            "dataset.name == /A/B/C or dataset.name == /*/X/*",
            DatasetNames(frozenset({"/A/B/C"}), ("/*/X/*",)),
        ),
        ("dataset.name == /A/B/C or blockreplica.owner == RelVal", None),
        ("blockreplica.owner == RelVal", None),
        ("dataset.name != /A/B/C", None),
        ("dataset.name =~ /A/.*", None),
        ("not dataset.name == /A/B/C", None),
    ],
)
def test_dataset_names_narrow_a_rule_only_when_every_alternative_names_datasets(
    condition: str, names: DatasetNames | None
) -> None:
    assert dataset_names_of(parse_condition(condition, context=Context.REPLICA)) == names
