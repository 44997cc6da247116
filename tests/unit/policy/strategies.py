"""Hypothesis strategies: random condition trees over the variable registry, random worlds."""

from __future__ import annotations

import random
from functools import cache

from hypothesis import strategies as st

from dynamo.model import DatasetStatus, Inventory, SiteStatus
from dynamo.policy import REGISTRY, And, Condition, Not, Or, Predicate, Value, ValueKind, VarType
from dynamo.policy.attributes import (
    ENFORCER_PROTECTED,
    LAST_ACCESS,
    NUM_ACCESS,
    USAGE_RANK,
    Attributes,
)

from .builders import DAY, NOW, Builder, block_name

SITES = ["T2_US_MIT", "T2_DE_DESY", "T1_US_FNAL_Disk", "T1_US_FNAL_MSS", "T0_CH_CERN_Disk"]
GROUPS = ["AnalysisOps", "DataOps", "RelVal"]
DATASETS = [
    "/ZeroBias/Run2018D-PromptReco-v2/AOD",
    "/ZeroBias/Run2018D-PromptReco-v2/MINIAOD",
    "/SingleMuon/Run2016B-17Jul2018-v1/RAW",
    "/TTJets/RunIISummer19UL17-v1/GEN",
    "/RelValTTbar/CMSSW_12_0_0_pre3-v1/GEN-SIM",
]
TEXT_VALUES = {
    "dataset.name": DATASETS,
    "dataset.release": ["10_6_4", "12_0_0_pre3", ""],
    "blockreplica.owner": GROUPS,
    "site.name": SITES,
}
GLOBS = ["/*/*/RAW", "/*/*/MINIAOD*", "/ZeroBias/*/*", "T2_*", "T1_*_Disk", "*Ops", "?2_*"]
REGEXES = ["/[^/]+/Run2018.*", ".*CMSSW_[0-9]+_[0-9]+_[0-9]+_pre.*", "T[01]_.*", "Data"]
TIMES = ["90 days ago", "1 week ago", "3 months ago", "January 1", "2023-06-01", "400d", "2w"]
NUMBERS = ["0", "1", "2", "0.5", "100", "1GB", "1.5e9"]
USABLE = [v for v in REGISTRY.values() if not v.site_only]


@st.composite
def values(draw: st.DrawFn, name: str, operator: str) -> Value:
    variable = REGISTRY[name]
    if variable.type is VarType.TEXT:
        if operator in ("=~", "!=~"):
            return Value(ValueKind.REGEX, draw(st.sampled_from(REGEXES)))
        if variable.nullable and draw(st.booleans()):
            return Value(ValueKind.NULL, "None")
        pool = TEXT_VALUES.get(name, DATASETS)
        text = draw(st.sampled_from([p for p in pool if p] + GLOBS))
        return Value(ValueKind.GLOB if "*" in text or "?" in text else ValueKind.TEXT, text)
    if variable.type is VarType.NUMBER:
        return Value(ValueKind.NUMBER, draw(st.sampled_from(NUMBERS)))
    if variable.type is VarType.TIME:
        return Value(ValueKind.TIME, draw(st.sampled_from(TIMES)))
    assert variable.enum is not None
    return Value(ValueKind.ENUM, draw(st.sampled_from(sorted(variable.enum))))


_OPERATORS = {
    VarType.NUMBER: ["==", "!=", "<", ">", "in", "notin"],
    VarType.TEXT: ["==", "!=", "=~", "!=~", "in", "notin"],
    VarType.TIME: ["<", ">", "older_than", "newer_than"],
    VarType.ENUM: ["==", "!=", "in", "notin"],
}


@st.composite
def predicates(draw: st.DrawFn) -> Predicate:
    variable = draw(st.sampled_from(USABLE))
    if variable.type is VarType.BOOL:
        return Predicate(variable.name)
    operator = draw(st.sampled_from(_OPERATORS[variable.type]))
    if operator in ("in", "notin"):
        items = draw(st.lists(values(variable.name, "=="), min_size=1, max_size=3))
        items = [v for v in items if v.kind is not ValueKind.NULL] or [items[0]]
        return Predicate(variable.name, operator, tuple(items))
    return Predicate(variable.name, operator, (draw(values(variable.name, operator)),))


def _extend(children: st.SearchStrategy[Condition]) -> st.SearchStrategy[Condition]:
    return st.one_of(
        children.map(Not),
        st.lists(children, min_size=2, max_size=3).map(lambda c: And(tuple(c))),
        st.lists(children, min_size=2, max_size=3).map(lambda c: Or(tuple(c))),
    )


conditions = st.recursive(predicates(), _extend, max_leaves=6)


@cache
def world(seed: int) -> tuple[Inventory, Attributes]:
    """A small random inventory and attributes, the same for the same seed."""
    rng = random.Random(seed)
    b = Builder()
    for site in SITES:
        status = SiteStatus.MORGUE if rng.random() < 0.15 else SiteStatus.READY
        b.site(site, mss=site.endswith("_MSS"), status=status)
    attributes = Attributes()
    for name in DATASETS:
        blocks = rng.randint(1, 3)
        status = rng.choice([DatasetStatus.VALID, DatasetStatus.VALID, DatasetStatus.INVALID])
        b.dataset(name, blocks=blocks, age_days=rng.uniform(1, 500), status=status)
        for site in rng.sample(SITES, rng.randint(1, 4)):
            present = sorted(rng.sample(range(blocks), rng.randint(1, blocks)))
            b.replica(
                name,
                site,
                rng.choice(GROUPS),
                blocks=present,
                owners={i: rng.choice([*GROUPS, None]) for i in present if rng.random() < 0.3},
                incomplete=tuple(i for i in present if rng.random() < 0.2),
                block_ages={i: rng.uniform(1, 400) for i in present},
            )
            if rng.random() < 0.2:
                attributes.lock(name, site, [block_name(name, present[0])])
            if rng.random() < 0.2:
                attributes.set_replica(ENFORCER_PROTECTED, name, site, True)
        attributes.set_dataset(USAGE_RANK, name, rng.uniform(0, 300))
        attributes.set_dataset(NUM_ACCESS, name, rng.choice([0, 0, 1, 5]))
        attributes.set_dataset(LAST_ACCESS, name, NOW - int(rng.uniform(0, 400) * DAY))
        attributes.set_dataset("on_protected_site", name, rng.random() < 0.5)
    return b.build(), attributes
