"""Shared pieces of the generator tests: a tiny scale and the rows of every table."""

from __future__ import annotations

from pathlib import Path

import pytest

from dynamo.bench.generator import TABLE_ORDER, InventoryGenerator, Row
from dynamo.bench.scales import SCALES, Scale

FIXTURES = Path(__file__).parents[2] / "fixtures" / "cms"

TINY = Scale(
    name="tiny",
    datasets=120,
    blocks=600,
    files=6_000,
    t1_sites=2,
    t2_sites=8,
    with_t0=True,
    with_ral_echo=True,
)
"""Smaller than XS, but with every kind of node (T0, T1 pairs, RAL ECHO, T2)."""


Tables = dict[str, list[Row]]


def generate_tables(scale: Scale, seed: int, *, files: bool = True) -> Tables:
    generator = InventoryGenerator(scale, seed=seed)
    tables: dict[str, list[Row]] = {}
    for name in TABLE_ORDER:
        if name == "files" and not files:
            generator.skip_files()
            tables[name] = []
        else:
            tables[name] = list(generator.rows(name))
    return tables


@pytest.fixture(scope="session")
def tiny_scale() -> Scale:
    return TINY


@pytest.fixture(scope="session")
def generate() -> object:
    """The function ``(scale, seed, files=True) -> {table: rows}``."""
    return generate_tables


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def tiny_tables() -> Tables:
    return generate_tables(TINY, 7)


@pytest.fixture(scope="session")
def xs_tables() -> Tables:
    """Every XS table except the files (their shape is checked at the tiny scale)."""
    return generate_tables(SCALES["xs"], 0, files=False)
