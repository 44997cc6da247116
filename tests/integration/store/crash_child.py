"""Child process of the crash test: commit changesets of the series until killed.

Usage: ``python crash_child.py URL LIMIT``. Resumes after the last logged changeset, prints
``begin K`` before committing changeset K and ``done K SEQ`` once commit() has returned.
"""

from __future__ import annotations

import sys

from crash_series import changeset

from doubles import toy_compiler as owner_compiler
from dynamo.store import SqlInventoryStore


def main(url: str, limit: int) -> None:
    store = SqlInventoryStore.open(url)
    inventory, _ = store.load(partition_compiler=owner_compiler)
    start = sum(1 for _ in store.read_log())
    print(f"start {start}", flush=True)
    for k in range(start, start + limit):
        print(f"begin {k}", flush=True)
        seq = store.commit(changeset(k), inventory)
        print(f"done {k} {seq}", flush=True)
    store.close()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
