"""The sample production configuration and systemd units in docs/deploy are valid."""

from __future__ import annotations

import configparser
import shutil
from pathlib import Path

from dynamo.server.config import load_config

DEPLOY = Path(__file__).parents[3] / "docs" / "deploy"
FIXTURES = Path(__file__).parents[2] / "fixtures"


def test_the_sample_configuration_loads_with_every_table(tmp_path: Path) -> None:
    shutil.copy(DEPLOY / "dynamo.toml", tmp_path / "dynamo.toml")
    shutil.copy(FIXTURES / "cms" / "dynamo-cms" / "cms.seq", tmp_path / "cms.seq")
    config = load_config(tmp_path / "dynamo.toml")
    assert config.uses_tls
    assert config.check() is config
    assert config.scheduler.sequence_file == tmp_path / "cms.seq"
    assert {entry.app for entry in config.scheduler.intervals} == {
        "fileops",
        "updater",
        "consistency",
    }
    assert set(config.detox.partitions) == {"Physics", "RelVal"}
    assert config.fileops.endpoints["T2_US_MIT"].backend == "fts3"
    assert config.consistency.directories == ("/store/mc", "/store/data", "/store/user")


def test_the_systemd_units_name_commands_that_exist() -> None:
    for unit in ("dynamo-server.service", "dynamo-fileops-worker@.service"):
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        parser.read(DEPLOY / unit)
        assert parser["Install"]["WantedBy"] == "multi-user.target"
        command = parser["Service"]["ExecStart"].split()
        assert command[0] == "/opt/dynamo/.venv/bin/dynamo"
        assert command[1] in ("server", "fileops")
        assert parser["Service"]["User"] == "dynamo"
