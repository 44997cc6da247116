"""Rucio account limits as Dynamo quotas (dynamo.sources.rucio_map, docs/sources.md "Rucio"):
the local limit by RSE, Rucio's unlimited as -1, no limit as 0; the configuration pairs."""

from __future__ import annotations

import math

import pytest

from dynamo.errors import ConfigurationError
from dynamo.sources import RucioSource, account_quotas_of
from dynamo.sources.rucio_map import local_limits, site_of_rse

RSE = {"rse": "T2_US_MIT", "rse_type": "DISK"}


def test_local_limits_become_quotas_with_unlimited_as_minus_one() -> None:
    assert local_limits({"T2_US_MIT": 3e11, "T2_CH_CERN": math.inf, "T1_X": 0}) == {
        "T2_US_MIT": 300_000_000_000,
        "T2_CH_CERN": -1,
        "T1_X": 0,
    }


def test_a_site_takes_each_accounts_limit_and_zero_where_it_has_none() -> None:
    limits = {"DataOpsDisk": {"T2_US_MIT": 5}, "RelVal": {"T2_CH_CERN": -1}}
    site = site_of_rse(
        RSE,
        {},
        [],
        {"MaxSpaceAvailable": 100},
        quota_partition="AnalysisOps",
        account_quotas=limits,
    )
    assert site.quotas == (("DataOpsDisk", 5), ("RelVal", 0), ("AnalysisOps", 100))


def test_account_quota_pairs_are_parsed_and_checked() -> None:
    assert account_quotas_of(["DataOpsDisk=transfer_ops", " RelVal=relval "]) == {
        "DataOpsDisk": "transfer_ops",
        "RelVal": "relval",
    }
    for bad in (["DataOpsDisk"], ["=ops"], ["A=x", "A=y"]):
        with pytest.raises(ConfigurationError, match="PARTITION=ACCOUNT"):
            account_quotas_of(bad)
    with pytest.raises(ConfigurationError, match="not both"):
        RucioSource("http://127.0.0.1:1", quota_partition="A", account_quotas={"A": "ops"})
