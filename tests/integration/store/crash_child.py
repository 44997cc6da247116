"""Child process of the crash test: commit changesets of the series until killed.

Usage: ``python crash_child.py URL LIMIT [GROUP]``. Resumes after the last logged changeset,
prints ``begin K`` before committing changeset K and ``done K SEQ`` once commit() has returned.
With GROUP > 1, changesets K..K+GROUP-1 are written by one ``write_group`` (one transaction):
``begin K`` before it, then ``done`` for each of them once it has returned.
"""

from __future__ import annotations

import sys

from crash_series import changeset

from doubles import toy_compiler as owner_compiler
from dynamo.store import SqlInventoryStore
from dynamo.store.ports import GroupEntry


def main(url: str, limit: int, group: int) -> None:
    store = SqlInventoryStore.open(url)
    inventory, _ = store.load(partition_compiler=owner_compiler)
    start = sum(1 for _ in store.read_log())
    print(f"start {start}", flush=True)
    for k in range(start, start + limit * group, group):
        print(f"begin {k}", flush=True)
        members = [changeset(k + n) for n in range(group)]
        seqs = store.write_group([GroupEntry(c) for c in members], inventory)
        for n, (member, seq) in enumerate(zip(members, seqs, strict=True)):
            assert isinstance(seq, int), seq
            inventory.apply(member, validated=True)
            print(f"done {k + n} {seq}", flush=True)
    store.close()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 1)
