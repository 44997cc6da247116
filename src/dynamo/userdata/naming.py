"""The naming rules of user data: the reserved namespace and user dataset names.

Grammar (each segment of a path is checked on its own; nothing is decoded)::

    lfn      = "/store/user/" user "/" segment ("/" segment)*
    dataset  = "/" primary "/" user "-" label "/USER"
    user     = [a-z0-9][a-z0-9_.]{0,63}         (the caller's user name, from the directory;
                                                no "-", which ends the user in a dataset name)
    segment  = [A-Za-z0-9_][A-Za-z0-9_.+-]{0,254}  (so never "", "." or "..")
    primary  = label = [A-Za-z0-9][A-Za-z0-9_.-]{0,99}

An LFN names its owner by its namespace, a dataset by its processed name; they must agree.
Percent signs, backslashes, double slashes and dot segments are refused rather than normalised,
so that the name checked is the name stored and the path written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dynamo.userdata.errors import UserDataNameError

__all__ = ["NAMESPACE_ROOT", "UserDatasetName", "block_name", "lfn_owner", "parse_dataset"]

NAMESPACE_ROOT = "/store/user/"
MAX_LFN = 512
_USER = re.compile(r"[a-z0-9][a-z0-9_.]{0,63}")
_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]{0,254}")
_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


@dataclass(frozen=True, slots=True)
class UserDatasetName:
    """``/primary/owner-label/USER``."""

    name: str
    primary: str
    owner: str
    label: str


def lfn_owner(lfn: str) -> str:
    """The user whose namespace ``lfn`` is in; UserDataNameError says which rule it breaks."""
    if len(lfn) > MAX_LFN:
        raise UserDataNameError(f"an LFN has at most {MAX_LFN} characters")
    if not lfn.startswith(NAMESPACE_ROOT):
        raise UserDataNameError(
            f"{lfn!r} is not in the user namespace: user files are {NAMESPACE_ROOT}<user>/..."
        )
    user, *segments = lfn[len(NAMESPACE_ROOT) :].split("/")
    if not _USER.fullmatch(user):
        raise UserDataNameError(
            f"{lfn!r}: {user!r} is not a user-data owner (lower-case letters, digits, _ and .; "
            "no '-', which separates the owner from the label in dataset names)"
        )
    if not segments:
        raise UserDataNameError(f"{lfn!r} names the namespace, not a file in it")
    for segment in segments:
        if not _SEGMENT.fullmatch(segment):
            raise UserDataNameError(
                f"{lfn!r}: path segment {segment!r} is not allowed (letters, digits, _ . + - ; "
                "no empty, '.' or '..' segment, no percent-encoding)"
            )
    return user


def parse_dataset(name: str) -> UserDatasetName:
    """The parts of a user dataset name; UserDataNameError if it is not one."""
    parts = name.split("/")
    if len(parts) != 4 or parts[0] or parts[3] != "USER":
        raise UserDataNameError(f"{name!r}: a user dataset is named /<primary>/<user>-<label>/USER")
    primary, processed = parts[1], parts[2]
    owner, dash, label = processed.partition("-")
    if not _LABEL.fullmatch(primary):
        raise UserDataNameError(f"{name!r}: {primary!r} is not a primary dataset name")
    if not dash or not _USER.fullmatch(owner) or not _LABEL.fullmatch(label):
        raise UserDataNameError(
            f"{name!r}: the processed name is <user>-<label>, not {processed!r}"
        )
    return UserDatasetName(name=name, primary=primary, owner=owner, label=label)


def block_name(site: str, index: int) -> str:
    """The name of the ``index``-th block created at ``site`` (a block never spans sites)."""
    return f"{site}-{index:04d}"
