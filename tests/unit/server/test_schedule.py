"""Scheduling decisions with an injected clock: admission, intervals, sequence cursors."""

from __future__ import annotations

import pytest

from dynamo.server.schedule import (
    IntervalTimer,
    Launch,
    Pending,
    SequenceCursor,
    Sleep,
    Stopped,
    admit,
)
from dynamo.server.seqfile import Execute, parse_sequences


def ids(chosen: list[Pending]) -> list[int]:
    return [p.run_id for p in chosen]


QUEUE = [
    Pending(1, True),
    Pending(2, True),
    Pending(3, False),
    Pending(4, False),
    Pending(5, False),
]


@pytest.mark.parametrize(
    ("readers_running", "writer_running", "max_readers", "expected"),
    [
        (0, False, 1, [1, 3]),
        (0, False, 2, [1, 3, 4]),
        (0, True, 2, [3, 4]),
        (2, False, 2, [1]),
        (1, True, 1, []),
    ],
)
def test_one_writer_at_a_time_and_at_most_max_readers(
    readers_running: int, writer_running: bool, max_readers: int, expected: list[int]
) -> None:
    chosen = admit(
        QUEUE,
        readers_running=readers_running,
        writer_running=writer_running,
        max_readers=max_readers,
    )
    assert ids(chosen) == expected


def test_an_interval_is_due_at_start_plus_delay_then_every_period_once_idle() -> None:
    timer = IntervalTimer(60, start=1000, delay=10)
    assert not timer.is_due(1009)
    assert timer.is_due(1010)
    timer.launched(7, 1010)
    assert not timer.is_due(1100)  # still running
    timer.finished()
    assert not timer.is_due(1069)
    assert timer.is_due(1070)


def cursor_of(text: str, retry: float = 30) -> SequenceCursor:
    seqfile = parse_sequences("<a> = p\n<b> = p\n{c} = p\n" + text, "t.seq")
    return SequenceCursor(next(iter(seqfile.sequences.values())), retry_seconds=retry)


def launch(cursor: SequenceCursor, now: float) -> Execute:
    action = cursor.next_action(now)
    assert isinstance(action, Launch), action
    return action.step


def test_a_sequence_runs_its_lines_in_order_waits_and_loops() -> None:
    cursor = cursor_of("[SEQUENCE s]\n& <a>\n| {c}\nWAIT 100\n")
    assert launch(cursor, 0).title == "a"
    cursor.launched(1)
    assert cursor.next_action(5) == Sleep(None)
    cursor.finished(ok=True, now=10)
    assert launch(cursor, 10).title == "c"
    cursor.launched(2)
    cursor.finished(ok=True, now=20)
    assert cursor.next_action(20) == Sleep(120)
    assert cursor.next_action(119) == Sleep(120)
    assert launch(cursor, 120).title == "a"


def test_a_failed_continue_line_goes_on() -> None:
    cursor = cursor_of("[SEQUENCE s]\n| <a>\n& <b>\n")
    launch(cursor, 0)
    cursor.launched(1)
    cursor.finished(ok=False, now=5)
    assert launch(cursor, 5).title == "b"


def test_a_failed_retry_line_runs_again_after_the_retry_delay() -> None:
    cursor = cursor_of("[SEQUENCE s]\n& <a>\n& <b>\n", retry=30)
    launch(cursor, 0)
    cursor.launched(1)
    cursor.finished(ok=True, now=1)
    assert launch(cursor, 1).title == "b"
    cursor.launched(2)
    cursor.finished(ok=False, now=10)
    assert cursor.next_action(39) == Sleep(40)
    assert launch(cursor, 40).title == "b"


def test_a_failed_restart_line_restarts_the_sequence() -> None:
    cursor = cursor_of("[SEQUENCE s]\n& <a>\n^ <b>\nWAIT 10\n", retry=30)
    launch(cursor, 0)
    cursor.launched(1)
    cursor.finished(ok=True, now=1)
    launch(cursor, 1)
    cursor.launched(2)
    cursor.finished(ok=False, now=2)
    assert launch(cursor, 32).title == "a"


def test_terminate_stops_the_sequence_for_good() -> None:
    cursor = cursor_of("[SEQUENCE s]\n& <a>\nTERMINATE\n")
    launch(cursor, 0)
    cursor.launched(1)
    cursor.finished(ok=True, now=1)
    action = cursor.next_action(1)
    assert isinstance(action, Stopped)
    assert "TERMINATE at t.seq:6:1" in action.reason
    assert isinstance(cursor.next_action(10_000), Stopped)


def test_a_sequence_of_zero_waits_does_not_spin() -> None:
    cursor = cursor_of("[SEQUENCE s]\nWAIT 0\nWAIT 0\n")
    assert cursor.next_action(5) == Sleep(5)
