# mypy: ignore-errors
"""Task 3: the reaper's deletion decision on one RSE (rucio-bench.md "Task 3").

Untimed setup: every replica at the RSE unlocked with a past tombstone (seeded, uniform over
a year), storage usage = the bytes there with free = 5 % of capacity, MinFreeSpace = free +
10 % of used. Timed: the needed bytes from usage and limits, then
list_and_mark_unlocked_replicas(limit) until the selected bytes reach the need.
"""

import sys

from peerlib import Stopwatch, emit, load_spec
from rucio.common.config import config_get
from rucio.core.replica import list_and_mark_unlocked_replicas
from rucio.core.rse import get_rse_id, get_rse_limits, get_rse_usage, set_rse_limits, set_rse_usage
from sqlalchemy import create_engine, text

SETUP = """
UPDATE replicas SET lock_cnt = 0,
    tombstone = NOW() - (random() * INTERVAL '365 days') - INTERVAL '1 hour'
WHERE rse_id = :rse_id
"""


def setup(rse_id):
    engine = create_engine(config_get("database", "default"))
    with engine.begin() as connection:
        connection.execute(text("SELECT setseed(0.42)"))
        connection.execute(text(SETUP), {"rse_id": rse_id})
        used, count = connection.execute(
            text("SELECT COALESCE(SUM(bytes), 0), COUNT(*) FROM replicas WHERE rse_id = :r"),
            {"r": rse_id},
        ).one()
    used = int(used)
    capacity = int(used / 0.95)
    free = capacity - used
    set_rse_usage(rse_id, "storage", used, free)
    set_rse_limits(rse_id, "MinFreeSpace", free + used // 10)
    return used, count


def main(spec_path, limit):
    spec = load_spec(spec_path)
    rse_id = get_rse_id(spec["deletion_site"])
    used, replicas = setup(rse_id)
    clock = Stopwatch()
    usage = next(u for u in get_rse_usage(rse_id, source="storage"))
    needed = get_rse_limits(rse_id, "MinFreeSpace")["MinFreeSpace"] - usage["free"]
    selected, selected_bytes, calls = 0, 0, 0
    while selected_bytes < needed:
        found = list_and_mark_unlocked_replicas(
            limit=limit, bytes_=needed - selected_bytes, rse_id=rse_id, delay_seconds=600
        )
        calls += 1
        if not found:
            break
        selected += len(found)
        selected_bytes += sum(r["bytes"] for r in found)
    emit(
        {
            "seconds": clock.seconds(),
            "site_replicas": replicas,
            "used_bytes": used,
            "needed_bytes": needed,
            "selected_replicas": selected,
            "selected_bytes": selected_bytes,
            "calls": calls,
            "limit": limit,
        }
    )


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
