"""The ``[userdata]`` table of the server's configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from dynamo.errors import ConfigurationError
from dynamo.server.config import load_config
from dynamo.userdata import UserDataOptions


def _load(tmp_path: Path, table: str) -> UserDataOptions:
    path = tmp_path / "server.toml"
    path.write_text(f"[userdata]\n{table}\n", encoding="utf-8")
    return load_config(path).userdata


def test_the_table_sets_block_size_and_levels(tmp_path: Path) -> None:
    options = _load(tmp_path, "max_files_per_block = 20\nwarn_at = 0.5\nalarm_at = 0.7")
    assert (options.max_files_per_block, options.warn_at, options.alarm_at) == (20, 0.5, 0.7)


def test_without_the_table_the_concepts_levels_apply(tmp_path: Path) -> None:
    path = tmp_path / "server.toml"
    path.write_text("[server]\nport = 8443\n", encoding="utf-8")
    options = load_config(path).userdata
    assert (options.max_files_per_block, options.warn_at, options.alarm_at) == (100, 0.6, 0.75)
    assert options.pass_every == 300


def test_the_background_pass_can_be_turned_off(tmp_path: Path) -> None:
    assert _load(tmp_path, "pass_every = 0").pass_every == 0
    assert _load(tmp_path, "pass_every = 2.5").pass_every == 2.5


@pytest.mark.parametrize(
    "table",
    [
        "max_files_per_block = 0",
        "max_files_per_block = true",
        "warn_at = 1.5",
        "warn_at = 0.8\nalarm_at = 0.7",
        "quota = 5",
        "pass_every = -1",
        'pass_every = "often"',
    ],
)
def test_bad_values_are_refused_naming_the_file(tmp_path: Path, table: str) -> None:
    with pytest.raises(ConfigurationError, match=r"server\.toml"):
        _load(tmp_path, table)
