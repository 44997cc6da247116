"""The sequence-file parser on the real CMS cms.seq and on every kind of mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from dynamo.errors import ConfigurationError
from dynamo.server.seqfile import (
    Criticality,
    Execute,
    SequenceSyntaxError,
    Terminate,
    Wait,
    load_sequences,
    parse_sequences,
)

CMS_SEQ = Path(__file__).parents[2] / "fixtures" / "cms" / "dynamo-cms" / "cms.seq"


def test_the_real_cms_sequence_file_parses_whole() -> None:
    seqfile = load_sequences(CMS_SEQ)
    assert len(seqfile.definitions) == 14
    assert list(seqfile.sequences) == [
        "delta_update",
        "site_update",
        "full_update",
        "detox_snapshot",
        "detox",
        "dealer",
        "dealermon",
        "fom",
        "queuemanager",
        "stuck_transfers",
        "decacher",
    ]
    assert seqfile.definitions["detox"].writes
    assert not seqfile.definitions["fom"].writes


def test_the_real_detox_sequence_runs_every_four_hours_with_a_test_run() -> None:
    detox = load_sequences(CMS_SEQ).sequences["detox"]
    first, *_, wait = detox.steps
    assert isinstance(first, Execute)
    assert (first.title, first.writes, first.criticality) == (
        "update_popularity",
        False,
        Criticality.CONTINUE,
    )
    assert isinstance(wait, Wait)
    assert wait.seconds == 14400
    physics = detox.steps[2]
    assert isinstance(physics, Execute)
    assert physics.writes
    assert physics.argv[-1] == "/usr/share/dynamo-policies/detox/Physics.txt"
    test_run = detox.steps[5]
    assert isinstance(test_run, Execute)
    assert (test_run.title, test_run.writes, test_run.argv[-1]) == ("detox", False, "--test-run")
    assert (test_run.where.line, test_run.where.column) == (51, 1)


def test_the_real_full_update_keeps_shell_like_site_patterns() -> None:
    full = load_sequences(CMS_SEQ).sequences["full_update"]
    first = full.steps[1]
    assert isinstance(first, Execute)
    assert first.argv[-4:] == ("--site", "T2_*", "!T2_CH_CERN", "!T2_US_*")


def test_restart_timeouts_wait_expressions_and_terminate() -> None:
    text = "<a> = /x\n[SEQUENCE s] restart\n  ^[2.5] <a> --n 1\nWAIT 4 * 3600\nTERMINATE\n"
    seqfile = parse_sequences(text, "t.seq")
    sequence = seqfile.sequences["s"]
    assert sequence.restart
    step, wait, end = sequence.steps
    assert isinstance(step, Execute)
    assert (step.criticality, step.timeout_hours, step.where.column) == (
        Criticality.RESTART,
        2.5,
        3,
    )
    assert isinstance(wait, Wait)
    assert wait.seconds == 14400
    assert isinstance(end, Terminate)


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("& <x> a", "f.seq:1:1", "expected an application definition"),
        ("<a> = p\n[SEQUENCE s]\n& <b>", "f.seq:3:3", "'b' is not defined"),
        ("{a} = p\n[SEQUENCE s]\n& <a>", "f.seq:3:3", "defined read-only"),
        ('<a> = p\n[SEQUENCE s]\n& {a} "open', "f.seq:3:6", "No closing quotation"),
        ("[SEQUENCE s]\nWAIT 3*", "f.seq:2:6", "not an arithmetic expression"),
        ("[SEQUENCE s]\nWAIT __import__('os')", "f.seq:2:6", "not an arithmetic expression"),
        ("[SEQUENCE s]\nWAIT", "f.seq:2:5", "expected a number of seconds"),
        ("[SEQUENCE s]\nWAIT -5", "f.seq:2:6", "negative"),
        ("<a> = p\n[SEQUENCE s]\n  ^[x] <a>", "f.seq:3:5", "not an arithmetic expression"),
        ("<a> = p\n[SEQUENCE s]\n& <a}", "f.seq:3:5", "mismatched brackets"),
        ("<a> = p\n[SEQUENCE s]\n& <a>--x", "f.seq:3:6", "expected a space"),
        ("<a> = p\n<a> = q", "f.seq:2:2", "already defined at f.seq:1:1"),
        ("[SEQUENCE s]\n", "f.seq:1:1", "has no steps"),
        ("[SEQUENCE s]\nTERMINATE\n[SEQUENCE s]\nTERMINATE", "f.seq:3:11", "already defined"),
        ("[SEQUENCE s] again\nTERMINATE", "f.seq:1:14", "expected 'restart'"),
        ("<a> = p\n[SEQUENCE s]\nRUN <a>", "f.seq:3:1", "expected a step"),
    ],
)
def test_mistakes_are_reported_at_file_line_column(text: str, where: str, message: str) -> None:
    with pytest.raises(SequenceSyntaxError, match=message) as caught:
        parse_sequences(text, "f.seq")
    assert str(caught.value.where) == where
    assert str(caught.value).startswith(where + ": ")


def test_an_unreadable_file_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read"):
        load_sequences(tmp_path / "missing.seq")
