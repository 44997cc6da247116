"""The settings of user data (``[userdata]`` in the server's configuration)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dynamo.errors import ConfigurationError

__all__ = ["UserDataOptions", "userdata_options_from"]


@dataclass(frozen=True, slots=True, kw_only=True)
class UserDataOptions:
    """``max_files_per_block``: a block is closed when it holds this many files; ``group`` owns
    every user-data replica and ``partition`` (defined by ``partition_condition``) is the
    UserData partition whose per-site quotas the sites give; the partition's health is
    ``warn`` from ``warn_at`` and ``alarm`` from ``alarm_at`` of its quota. The leading server
    runs the background pass (imports, consolidation steps, purges) every ``pass_every``
    seconds; 0 turns it off (then ``dynamo userdata run`` does it)."""

    max_files_per_block: int = 100
    group: str = "userdata"
    partition: str = "UserData"
    partition_condition: str = "blockreplica.owner == userdata"
    warn_at: float = 0.60
    alarm_at: float = 0.75
    pass_every: float = 300.0


def userdata_options_from(table: Mapping[str, Any], *, where: str = "<config>") -> UserDataOptions:
    """Options from the ``[userdata]`` table (unknown keys and bad values are refused)."""
    known = {"max_files_per_block", "warn_at", "alarm_at", "pass_every"}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigurationError(f"{where}: [userdata] unknown key {unknown[0]!r}")
    max_files = table.get("max_files_per_block", 100)
    if not isinstance(max_files, int) or isinstance(max_files, bool) or max_files < 1:
        raise ConfigurationError(f"{where}: userdata.max_files_per_block must be an integer >= 1")
    warn, alarm = table.get("warn_at", 0.60), table.get("alarm_at", 0.75)
    for value in (warn, alarm):
        if not isinstance(value, int | float) or not 0 < value <= 1:
            raise ConfigurationError(f"{where}: userdata.warn_at and alarm_at are in (0, 1]")
    if warn > alarm:
        raise ConfigurationError(f"{where}: userdata.warn_at must not exceed alarm_at")
    every = table.get("pass_every", 300.0)
    if not isinstance(every, int | float) or isinstance(every, bool) or every < 0:
        raise ConfigurationError(
            f"{where}: userdata.pass_every must be a number of seconds >= 0, not {every!r}"
        )
    return UserDataOptions(
        max_files_per_block=max_files,
        warn_at=float(warn),
        alarm_at=float(alarm),
        pass_every=float(every),
    )
