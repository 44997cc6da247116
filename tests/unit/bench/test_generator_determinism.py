from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

from dynamo.bench.generator import TABLE_ORDER, InventoryGenerator
from dynamo.bench.scales import Scale
from dynamo.errors import ConfigurationError

Generate = Callable[..., dict[str, list[tuple[Any, ...]]]]


def test_the_same_seed_gives_the_same_rows_in_every_table(
    generate: Generate, tiny_scale: Scale, tiny_tables: dict[str, list[tuple[Any, ...]]]
) -> None:
    assert generate(tiny_scale, 7) == tiny_tables


def test_a_different_seed_gives_different_datasets_blocks_and_files(
    generate: Generate, tiny_scale: Scale, tiny_tables: dict[str, list[tuple[Any, ...]]]
) -> None:
    other = generate(tiny_scale, 8)
    for table in ("datasets", "blocks", "files", "block_replicas", "quotas"):
        assert other[table] != tiny_tables[table], table


def test_skipping_the_files_leaves_every_other_table_unchanged(
    generate: Generate, tiny_scale: Scale, tiny_tables: dict[str, list[tuple[Any, ...]]]
) -> None:
    without = generate(tiny_scale, 7, files=False)
    assert without["files"] == []
    assert {t: r for t, r in without.items() if t != "files"} == {
        t: r for t, r in tiny_tables.items() if t != "files"
    }


def test_tables_requested_out_of_order_are_refused(tiny_scale: Scale) -> None:
    generator = InventoryGenerator(tiny_scale, seed=1)
    with pytest.raises(ConfigurationError, match="in order"):
        generator.rows("datasets")


def test_an_unknown_table_is_refused(tiny_scale: Scale) -> None:
    with pytest.raises(ConfigurationError, match="no generated table"):
        InventoryGenerator(tiny_scale, seed=1).rows("requests")


def test_no_time_in_the_rows_is_later_than_the_reference_time(tiny_scale: Scale) -> None:
    reference = 1_700_000_000
    generator = InventoryGenerator(tiny_scale, seed=3, reference_time=reference)
    times: list[int] = []
    for table in TABLE_ORDER:
        if table == "files":
            generator.skip_files()
            continue
        for row in generator.rows(table):
            if table in ("datasets",):
                times.append(int(row[5]))
            elif table in ("blocks", "block_replicas"):
                times.append(int(row[6]))
    assert max(times) <= reference
    assert min(times) > reference - 11 * 365 * 86_400


_DIGEST = """
import hashlib
from dynamo.bench.generator import TABLE_ORDER, InventoryGenerator
from dynamo.bench.scales import Scale
scale = Scale(name="t", datasets=60, blocks=300, files=1500, t1_sites=2, t2_sites=5)
generator = InventoryGenerator(scale, seed=11)
digest = hashlib.sha256()
for table in TABLE_ORDER:
    for row in generator.rows(table):
        digest.update(repr(row).encode())
print(digest.hexdigest())
"""


def test_the_rows_do_not_depend_on_the_interpreter_hash_seed() -> None:
    digests = set()
    for hash_seed in ("1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [sys.executable, "-c", _DIGEST], env=env, capture_output=True, text=True, check=True
        )
        digests.add(done.stdout.strip())
    assert len(digests) == 1
