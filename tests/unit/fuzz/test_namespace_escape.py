"""Fuzzing of the user-data namespace rules: no LFN that :func:`lfn_owner` accepts leaves its
owner's namespace, however it is written (``..``, ``.``, empty segments, percent-encoding,
backslashes, control characters), and a user dataset name always names one owner: the part of
its processed name before the first dash."""

from __future__ import annotations

import posixpath
from urllib.parse import unquote

from hypothesis import given, settings
from hypothesis import strategies as st

from dynamo.userdata import UserDataNameError
from dynamo.userdata.naming import NAMESPACE_ROOT, lfn_owner, parse_dataset

TRICKS = st.sampled_from(
    ["..", ".", "", "%2e%2e", "%2F", "%2f..", "..%2f", "\\..", "a\x00", "a\n", "bob", "x.root", "~"]
)
SEGMENT = st.one_of(TRICKS, st.text(max_size=8))
USER = st.one_of(
    st.sampled_from(["alice", "bob", "..", ".", "", "a..", "ALICE"]), st.text(max_size=6)
)


@settings(max_examples=500, deadline=None)
@given(user=USER, segments=st.lists(SEGMENT, min_size=0, max_size=5), absolute=st.booleans())
def test_an_accepted_lfn_stays_in_its_owners_namespace(
    user: str, segments: list[str], absolute: bool
) -> None:
    lfn = NAMESPACE_ROOT + "/".join([user, *segments])
    if absolute:
        lfn = "/" + lfn
    try:
        owner = lfn_owner(lfn)
    except UserDataNameError:
        return
    decoded = unquote(lfn)
    assert decoded == lfn, "percent-encoding accepted"
    assert posixpath.normpath(lfn) == lfn, "a path that normalises to another accepted"
    assert lfn.startswith(f"{NAMESPACE_ROOT}{owner}/")
    assert not any(ord(c) < 32 or c == "\\" for c in lfn)


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=60))
def test_any_text_is_refused_or_owned_by_the_user_it_names(text: str) -> None:
    for candidate in (text, NAMESPACE_ROOT + text):
        try:
            owner = lfn_owner(candidate)
        except UserDataNameError:
            continue
        assert posixpath.normpath(unquote(candidate)).startswith(f"{NAMESPACE_ROOT}{owner}/")


@settings(max_examples=300, deadline=None)
@given(primary=SEGMENT, user=USER, label=SEGMENT)
def test_a_user_dataset_name_names_its_owner(primary: str, user: str, label: str) -> None:
    name = f"/{primary}/{user}-{label}/USER"
    try:
        parsed = parse_dataset(name)
    except UserDataNameError:
        return
    # The owner is what comes before the first dash of the processed name.
    assert f"/{parsed.primary}/{parsed.owner}-{parsed.label}/USER" == name
    assert "-" not in parsed.owner
    assert parsed.owner == user.split("-")[0]
