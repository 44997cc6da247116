"""`dynamo popularity import FILE --db URL`: one transaction, JSON or a sentence, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dynamo.cli.main import app
from dynamo.store import dataset_access_summary, make_engine, migrate
from popularity_data import DATASET_NAMES, TODAY

runner = CliRunner()
DAY = 86_400
HEADER = "dataset,site,date,num_accesses,cpu_hours\n"


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'pop.db'}"
    migrate(url)
    return url


def summary(url: str) -> dict[str, tuple[int, int]]:
    engine = make_engine(url)
    try:
        return {name: (last, n) for name, last, n in dataset_access_summary(engine, since=0)}
    finally:
        engine.dispose()


def test_a_csv_file_is_imported_and_summarised_as_json(db: str, tmp_path: Path) -> None:
    names = DATASET_NAMES[:50]
    lines = [f"{name},T2_US_MIT,2020-02-{day:02d},{day},0.5" for name in names for day in (12, 13)]
    path = tmp_path / "accesses.csv"
    path.write_text(HEADER + "\n".join(lines) + "\n")
    result = runner.invoke(app, ["popularity", "import", str(path), "--db", db, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "file": str(path),
        "format": "csv",
        "target": "database",
        "records": 100,
        "datasets": 50,
        "sites": 1,
        "first_day": TODAY - DAY,
        "last_day": TODAY,
        "unknown_datasets": None,
    }
    assert summary(db) == dict.fromkeys(names, (TODAY, 25))


def test_a_json_file_is_imported_with_a_sentence(db: str, tmp_path: Path) -> None:
    path = tmp_path / "accesses.data"
    records = [
        {"dataset": DATASET_NAMES[0], "site": "T2_CH_CERN", "date": TODAY, "num_accesses": 4}
    ]
    path.write_text(json.dumps({"records": records}))
    result = runner.invoke(app, ["popularity", "import", str(path), "--db", db, "--format", "json"])
    assert result.exit_code == 0, result.output
    assert "imported 1 access records into the database (1 datasets, 1 sites, 2020-02-13" in (
        result.stdout
    )
    assert summary(db) == {DATASET_NAMES[0]: (TODAY, 4)}


def test_a_bad_line_is_reported_and_nothing_is_imported(db: str, tmp_path: Path) -> None:
    sites = ("T2_US_MIT", "T2_CH_CERN", "T2_DE_DESY")  # over 15,000 records: two chunks written
    good = [f"{name},{site},2020-02-13,1,0" for name in DATASET_NAMES for site in sites]
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + "\n".join([*good, f"{DATASET_NAMES[0]},T2_US_MIT,2020-02-13,x,0"]))
    result = runner.invoke(app, ["popularity", "import", str(path), "--db", db])
    assert result.exit_code == 2
    assert f"error[bad_request]: {path}:{len(good) + 2}: num_accesses: 'x'" in result.output
    assert summary(db) == {}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--db", "x.db", "--server", "http://localhost:1"], "give --db or --server, not both"),
        (["--db", "x.db", "--format", "xml"], "unknown format 'xml'"),
    ],
)
def test_bad_options_are_reported(tmp_path: Path, arguments: list[str], message: str) -> None:
    path = tmp_path / "a.csv"
    path.write_text(HEADER)
    result = runner.invoke(app, ["popularity", "import", str(path), *arguments])
    assert result.exit_code == 2
    assert message in result.output


def test_a_missing_file_and_an_unmigrated_database_are_reported(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["popularity", "import", str(tmp_path / "no.csv"), "--db", "x"])
    assert missing.exit_code == 2
    assert "no such file" in missing.output
    path = tmp_path / "a.csv"
    path.write_text(HEADER)
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    result = runner.invoke(app, ["popularity", "import", str(path), "--db", empty])
    assert result.exit_code == 2
    assert "error[schema_version]" in result.output
