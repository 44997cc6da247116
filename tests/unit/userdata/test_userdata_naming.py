"""The naming rules of user data: the namespace an LFN is in, user dataset names."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dynamo.userdata import UserDataNameError
from dynamo.userdata.naming import block_name, lfn_owner, parse_dataset


@pytest.mark.parametrize(
    ("lfn", "owner"),
    [
        ("/store/user/alice/skim/out_1.root", "alice"),
        ("/store/user/j.doe/a/b/c/d.root", "j.doe"),
        ("/store/user/bob2/x+y-z_1.tar.gz", "bob2"),
    ],
)
def test_an_lfn_names_its_owner(lfn: str, owner: str) -> None:
    assert lfn_owner(lfn) == owner


@pytest.mark.parametrize(
    "lfn",
    [
        "/store/user/alice/../bob/x.root",
        "/store/user/alice/./x.root",
        "/store/user/alice/.hidden",
        "/store/user/alice/a%2Fb.root",
        "/store/user/alice/a%2e%2e/b.root",
        "/store/user/alice//x.root",
        "/store/user/alice/x.root/",
        "/store/user/alice",
        "/store/user/alice/",
        "/store/user/../data/x.root",
        "/store/user/Alice/x.root",
        "/store/data/Run2018D/x.root",
        "/etc/passwd",
        "store/user/alice/x.root",
        "//store/user/alice/x.root",
        "/store/user/alice/a b.root",
        "/store/user/alice/a\\b.root",
        "/store/user/alice/" + "x" * 600,
    ],
)
def test_names_outside_the_namespace_rules_are_refused(lfn: str) -> None:
    with pytest.raises(UserDataNameError):
        lfn_owner(lfn)


@given(st.text(alphabet="abc./%_-\\+", max_size=30))
def test_an_accepted_lfn_never_climbs_nor_hides_a_separator(tail: str) -> None:
    lfn = f"/store/user/alice/{tail}"
    try:
        owner = lfn_owner(lfn)
    except UserDataNameError:
        return
    segments = lfn.split("/")[4:]
    assert owner == "alice"
    assert all(s not in ("", ".", "..") and not s.startswith(".") for s in segments)
    assert "%" not in lfn
    assert "\\" not in lfn


def test_a_user_dataset_is_primary_user_label_user() -> None:
    parsed = parse_dataset("/SingleMuon/alice-skim_v1/USER")
    assert (parsed.primary, parsed.owner, parsed.label) == ("SingleMuon", "alice", "skim_v1")


@pytest.mark.parametrize(
    "name",
    [
        "/SingleMuon/Run2018D-PromptReco-v2/AOD",
        "/SingleMuon/alice/USER",
        "/SingleMuon/alice-/USER",
        "/SingleMuon/-skim/USER",
        "SingleMuon/alice-skim/USER",
        "/SingleMuon/alice-skim/USER/more",
        "//alice-skim/USER",
        "/Single Muon/alice-skim/USER",
    ],
)
def test_other_dataset_names_are_not_user_datasets(name: str) -> None:
    with pytest.raises(UserDataNameError):
        parse_dataset(name)


def test_block_names_say_their_site() -> None:
    assert block_name("T2_US_MIT", 7) == "T2_US_MIT-0007"


def test_a_user_name_with_a_dash_owns_no_namespace_so_dataset_names_stay_unambiguous() -> None:
    with pytest.raises(UserDataNameError, match="no '-'"):
        lfn_owner("/store/user/jean-luc/ntuple.root")
    # "/P/jean-luc-skim/USER" would otherwise name jean's dataset "luc-skim" as well
    assert parse_dataset("/SingleMuon/jean-luc-skim/USER").owner == "jean"
