"""The [scheduler] configuration, argument parsing, and schedules resolved to registered apps."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from dynamo.errors import ConfigurationError
from dynamo.model import ChangeSet, UpsertSite
from dynamo.server.applications import AppResult, parse_argv
from dynamo.server.builtin_apps import builtin_registry
from dynamo.server.config import load_config
from dynamo.server.schedconfig import SchedulerConfig
from dynamo.server.schedules import ScheduleDriver

CMS_SEQ = Path(__file__).parents[2] / "fixtures" / "cms" / "dynamo-cms" / "cms.seq"


def test_a_server_config_file_carries_the_scheduler_section(tmp_path: Path) -> None:
    path = tmp_path / "dynamo.toml"
    path.write_text(
        '[server]\nallow_http = true\n\n[scheduler]\nmax_readers = 2\nsequence_file = "cms.seq"\n'
        'titles = { fom = "inventory-stats" }\n\n'
        '[[scheduler.interval]]\napp = "noop"\nevery = 60\nargs = { n = 1 }\n'
    )
    config = load_config(path).scheduler
    assert config.max_readers == 2
    assert config.sequence_file == tmp_path / "cms.seq"
    assert config.work_dir == tmp_path / "var/apps"
    [entry] = config.intervals
    assert (entry.name, entry.app, entry.every, entry.args, entry.writes) == (
        "noop",
        "noop",
        60.0,
        {"n": 1},
        False,
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"bogus": 1}, "unknown keys in \\[scheduler\\]: bogus"),
        ({"max_readers": 0}, "max_readers must be an integer >= 1"),
        ({"enabled": "yes"}, "enabled must be true or false"),
        ({"interval": [{"every": 5}]}, "'app' is required"),
        ({"interval": [{"app": "noop", "every": 0}]}, "every must be a positive number"),
        ({"interval": [{"app": "noop", "every": 5, "mode": "rw"}]}, "mode must be"),
        ({"interval": [{"app": "noop", "every": 5}] * 2}, "duplicate interval names: noop"),
    ],
)
def test_bad_scheduler_settings_are_configuration_errors(
    data: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        SchedulerConfig.from_mapping(data, base=Path("."), where="x.toml")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--config", "a.json", "--test-run"], {"config": "a.json", "test-run": True}),
        (["--site", "T2_*", "!T2_CH_CERN"], {"site": ["T2_*", "!T2_CH_CERN"]}),
        (["x", "--n=3"], {"_": ["x"], "n": "3"}),
        ([], {}),
    ],
)
def test_command_lines_become_arguments(argv: list[str], expected: dict[str, Any]) -> None:
    assert parse_argv(argv) == expected


def test_an_app_result_survives_the_pipe_format() -> None:
    result = AppResult(
        changeset=ChangeSet.of([UpsertSite(name="T2_X")]),
        records=[{"kind": "cycle", "n": 1}],
        summary={"ok": True},
    )
    assert AppResult.from_msgpack(result.to_msgpack()) == result
    with pytest.raises(ValueError, match="not an application result"):
        AppResult.from_msgpack(b"\x93\x01\x02\x03")


def test_the_real_cms_sequences_name_apps_not_registered_yet(tmp_path: Path) -> None:
    shutil.copy(CMS_SEQ, tmp_path / "cms.seq")
    config = SchedulerConfig(
        sequence_file=tmp_path / "cms.seq",
        titles={"fom": "inventory-stats", "decacher": "set-dataset-status"},
    )
    driver = ScheduleDriver(config, builtin_registry(), clock=lambda: 0.0)
    driver.load(0.0)
    assert set(driver.sequences) == {"fom", "decacher"}
    messages = [str(p) for p in driver.problems]
    [detox] = [m for m in messages if "sequence 'detox', title 'detox'" in m]
    assert detox.startswith(f"{tmp_path / 'cms.seq'}:48:1: sequence 'detox'")
    assert "application 'detox' is not registered" in detox
    assert "registered: noop, sleep, inventory-stats, set-dataset-status" in detox
    views = {v.name: v for v in driver.views()}
    assert views["fom"].kind == "sequence"


def test_a_write_step_needs_a_write_application(tmp_path: Path) -> None:
    (tmp_path / "w.seq").write_text("<stats> = x\n[SEQUENCE s]\n& <stats>\nWAIT 5\n")
    config = SchedulerConfig(sequence_file=tmp_path / "w.seq", titles={"stats": "inventory-stats"})
    driver = ScheduleDriver(config, builtin_registry(), clock=lambda: 0.0)
    driver.load(0.0)
    assert driver.sequences == {}
    assert "is read-only" in str(driver.problems[0])


def test_trusted_front_ends_and_the_body_limit_come_from_the_server_table(tmp_path: Path) -> None:
    path = tmp_path / "dynamo.toml"
    path.write_text(
        '[server]\ntrusted_dn_header = "X-SSL-Client-S-DN"\n'
        'trusted_front_ends = ["10.0.0.5"]\nmax_body = 1000\n'
    )
    config = load_config(path)
    assert config.trusted_front_ends == ("10.0.0.5",)
    assert config.max_body == 1000
    assert load_config(None).trusted_front_ends == ("127.0.0.1", "::1")
    path.write_text('[server]\ntrusted_front_ends = "10.0.0.5"\n')
    with pytest.raises(ConfigurationError, match="trusted_front_ends must be a list"):
        load_config(path)
