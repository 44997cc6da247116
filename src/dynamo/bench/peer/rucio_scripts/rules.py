# mypy: ignore-errors
"""Task 4: one more copy of each of the last N datasets, one add_rule per dataset (rucio-bench.md
"newcopy" mode: tier=2 minus the dataset's current RSEs, so each rule needs a new copy)."""

import sys

from peerlib import SCOPE, Stopwatch, dataset_name, emit, load_spec
from rucio.common.config import config_get
from rucio.common.types import InternalAccount, InternalScope
from rucio.core.rule import add_rule
from sqlalchemy import create_engine, text


def main(spec_path):
    spec = load_spec(spec_path)
    root, scope = InternalAccount("root"), InternalScope(SCOPE)
    chosen = spec["datasets"][-spec["rules"] :]
    clock = Stopwatch()
    for d in chosen:
        expression = "tier=2" + "".join(f"\\{site}" for site in d["sites"])
        add_rule(
            dids=[{"scope": scope, "name": dataset_name(d["index"])}],
            account=root,
            copies=1,
            rse_expression=expression,
            grouping="DATASET",
            weight=None,
            lifetime=None,
            locked=False,
            subscription_id=None,
        )
    seconds = clock.seconds()
    engine = create_engine(config_get("database", "default"))
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT state, COUNT(*) FROM rules GROUP BY state"))
        states = {str(state): count for state, count in rows}
        locks = connection.execute(text("SELECT COUNT(*) FROM locks")).scalar()
        requests = connection.execute(text("SELECT COUNT(*) FROM requests")).scalar()
    emit(
        {
            "rules": len(chosen),
            "seconds": seconds,
            "rules_per_second": len(chosen) / seconds,
            "rule_states": states,
            "file_locks": locks,
            "transfer_requests": requests,
        }
    )


if __name__ == "__main__":
    main(sys.argv[1])
