"""Access records from CSV and JSON: every field checked, errors pointing at line or index."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dynamo.store.popularity import DAY, AccessRecord, AccessRecordError
from dynamo.store.popularity_io import (
    AccessTally,
    detect_format,
    parse_date,
    read_csv,
    read_json,
    read_records,
    records_from_json,
)
from popularity_data import AOD, DATASET_NAMES, MINIAOD, TODAY

MIT, CERN = "T2_US_MIT", "T2_CH_CERN"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("value", "day"),
    [
        ("2020-02-13", TODAY),
        (" 2020-02-13 ", TODAY),
        ("1970-01-01", 0),
        (TODAY, TODAY),
        (TODAY + DAY - 1, TODAY),
        (str(TODAY + 3600), TODAY),
        (0, 0),
    ],
)
def test_a_date_is_a_utc_day_or_epoch_seconds_filed_under_its_midnight(
    value: object, day: int
) -> None:
    assert parse_date(value) == day


@pytest.mark.parametrize(
    "value", ["2020-02-30", "2020-2-13", "2020-W07-4", "13/02/2020", "", "-5", 1.5e9, True, None]
)
def test_anything_else_is_not_a_date(value: object) -> None:
    with pytest.raises(AccessRecordError, match=r"^date: .* is not a YYYY-MM-DD day"):
        parse_date(value)


def test_digits_are_epoch_seconds_even_when_they_look_like_a_compact_date() -> None:
    assert parse_date("20200213") == 20200213 - 20200213 % DAY
    with pytest.raises(AccessRecordError, match="date: -1 is before 1970"):
        parse_date(-1)


def test_a_csv_file_gives_its_records_in_order(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "accesses.csv",
        "\ufeffsite,dataset,date,num_accesses,cpu_hours\r\n"
        f"{MIT},{AOD},2020-02-13,12,3.5\r\n"
        "\r\n"
        f"{CERN},{MINIAOD},{TODAY - DAY},0,\r\n",
    )
    assert list(read_csv(path)) == [
        AccessRecord(AOD, MIT, TODAY, 12, 3.5),
        AccessRecord(MINIAOD, CERN, TODAY - DAY, 0, 0.0),
    ]


def test_cpu_hours_is_an_optional_column(tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv", f"dataset,site,date,num_accesses\n{AOD},{MIT},2020-02-13,1\n")
    assert list(read_csv(path)) == [AccessRecord(AOD, MIT, TODAY, 1)]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (f"{AOD},{MIT},2020-02-31,1,0", r"a\.csv:3: date: '2020-02-31' is not a YYYY-MM-DD"),
        (f"{AOD},{MIT},2020-02-13,-4,0", r"a\.csv:3: num_accesses: '-4' is not a non-negative"),
        (f"{AOD},{MIT},2020-02-13,1.0,0", r"a\.csv:3: num_accesses: '1.0'"),
        (f"{AOD},{MIT},2020-02-13,1,lots", r"a\.csv:3: cpu_hours: 'lots' is not a number"),
        (f"{AOD},{MIT},2020-02-13,1,-1", r"a\.csv:3: cpu_hours: -1.0 is not a finite"),
        (f"{AOD},{MIT},2020-02-13,1", r"a\.csv:3: 4 fields, the header has 5"),
        (f"{AOD}#b1,{MIT},2020-02-13,1,0", r"a\.csv:3: dataset: .* forbidden character"),
        (f",{MIT},2020-02-13,1,0", r"a\.csv:3: dataset: '' is not a non-empty string"),
    ],
)
def test_a_bad_csv_line_is_reported_with_file_line_field_and_value(
    tmp_path: Path, line: str, message: str
) -> None:
    good = f"{MINIAOD},{CERN},2020-02-12,5,1"
    path = write(tmp_path, "a.csv", f"dataset,site,date,num_accesses,cpu_hours\n{good}\n{line}\n")
    records = read_csv(path)
    assert next(records) == AccessRecord(MINIAOD, CERN, TODAY - DAY, 5, 1.0)
    with pytest.raises(AccessRecordError, match=message):
        next(records)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("", r"a\.csv: empty file"),
        ("dataset,site,day,num_accesses", r"a\.csv:1: unknown column 'day'"),
        ("dataset,site,date", r"a\.csv:1: no 'num_accesses' column"),
        ("dataset,site,date,date,num_accesses", r"a\.csv:1: a column is named twice"),
    ],
)
def test_a_bad_header_is_reported(tmp_path: Path, header: str, message: str) -> None:
    path = write(tmp_path, "a.csv", header + "\n" if header else "")
    with pytest.raises(AccessRecordError, match=message):
        list(read_csv(path))


def test_bytes_that_are_not_utf8_are_reported_with_their_line(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes(b"dataset,site,date,num_accesses\n/A/B/AOD,T2_US_MIT,2020-02-13,1\n\xff\n")
    with pytest.raises(AccessRecordError, match=r"a\.csv:3: not UTF-8"):
        list(read_csv(path))


def test_reading_a_csv_reports_every_byte(tmp_path: Path) -> None:
    lines = [f"{name},{MIT},2020-02-13,{n}" for n, name in enumerate(DATASET_NAMES)]
    path = write(tmp_path, "big.csv", "dataset,site,date,num_accesses\n" + "\n".join(lines))
    seen: list[int] = []
    assert sum(1 for _ in read_csv(path, on_bytes=seen.append)) == len(DATASET_NAMES)
    assert sum(seen) == path.stat().st_size


def test_json_is_a_list_of_records_or_an_object_holding_them(tmp_path: Path) -> None:
    items = [
        {"dataset": AOD, "site": MIT, "date": "2020-02-13", "num_accesses": 2, "cpu_hours": 1},
        {"dataset": MINIAOD, "site": CERN, "date": TODAY - 1, "num_accesses": 0},
    ]
    expected = [AccessRecord(AOD, MIT, TODAY, 2, 1), AccessRecord(MINIAOD, CERN, TODAY - DAY, 0)]
    assert read_json(write(tmp_path, "list.json", json.dumps(items))) == expected
    wrapped = write(tmp_path, "wrapped.json", json.dumps({"records": items}))
    assert list(read_records(wrapped)) == expected


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"accesses": []}, r"expected a list of records"),
        ("records", r"expected a list of records"),
        ([5], r"records\[0\]: 5 is not an object"),
        (
            [{"dataset": AOD, "site": MIT, "date": "2020-02-13"}],
            r"records\[0\]\.num_accesses: missing",
        ),
        (
            [{"dataset": AOD, "site": MIT, "date": "2020-02-13", "num_accesses": 1, "n": 1}],
            r"records\[0\]\.n: unknown field",
        ),
        (
            [{"dataset": AOD, "site": MIT, "date": "2020-02-13", "num_accesses": "1"}],
            r"records\[0\]\.num_accesses: '1' is not an integer",
        ),
        (
            [
                {
                    "dataset": AOD,
                    "site": MIT,
                    "date": "2020-02-13",
                    "num_accesses": 1,
                    "cpu_hours": None,
                }
            ],
            r"records\[0\]\.cpu_hours: None is not a number",
        ),
        (
            [
                {"dataset": AOD, "site": MIT, "date": "2020-02-13", "num_accesses": 1},
                {"dataset": AOD, "site": MIT, "date": "yesterday", "num_accesses": 1},
            ],
            r"records\[1\]\.date: 'yesterday'",
        ),
    ],
)
def test_bad_json_names_the_index_field_and_value(data: object, message: str) -> None:
    with pytest.raises(AccessRecordError, match=message):
        records_from_json(data)


def test_a_json_file_error_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(AccessRecordError, match=r"bad\.json: not JSON"):
        read_json(write(tmp_path, "bad.json", "[{"))
    with pytest.raises(AccessRecordError, match=r"odd\.json: records\[0\]: 1 is not an object"):
        read_json(write(tmp_path, "odd.json", "[1]"))


def test_the_format_comes_from_the_option_or_the_suffix() -> None:
    assert detect_format(Path("x.CSV")) == "csv"
    assert detect_format(Path("x.json")) == "json"
    assert detect_format(Path("x.txt"), "csv") == "csv"
    with pytest.raises(AccessRecordError, match="cannot tell the format"):
        detect_format(Path("x.txt"))
    with pytest.raises(AccessRecordError, match="unknown format 'xml'"):
        detect_format(Path("x.csv"), "xml")


def test_a_tally_counts_records_datasets_sites_and_days() -> None:
    tally = AccessTally()
    records = [AccessRecord(AOD, MIT, TODAY, 1), AccessRecord(AOD, CERN, TODAY - 5 * DAY, 1)]
    assert list(tally.counted(records)) == records
    assert tally.to_dict() == {
        "records": 2,
        "datasets": 1,
        "sites": 2,
        "first_day": TODAY - 5 * DAY,
        "last_day": TODAY,
    }


records_strategy = st.lists(
    st.builds(
        AccessRecord,
        st.sampled_from(DATASET_NAMES),
        st.sampled_from([MIT, CERN, "T1_US_FNAL_Disk"]),
        st.integers(0, 40_000).map(lambda n: n * DAY),
        st.integers(0, 2**63 - 1),
        st.floats(0, 1e9, allow_nan=False),
    ),
    max_size=20,
)


@given(records=records_strategy)
def test_records_written_as_csv_read_back_equal(
    records: list[AccessRecord], tmp_path_factory: pytest.TempPathFactory
) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["dataset", "site", "date", "num_accesses", "cpu_hours"])
    for r in records:
        day = datetime.fromtimestamp(r.day, UTC).strftime("%Y-%m-%d")
        writer.writerow([r.dataset, r.site, day, r.num_accesses, repr(r.cpu_hours)])
    path = tmp_path_factory.mktemp("csv") / "records.csv"
    path.write_text(buffer.getvalue())
    assert list(read_csv(path)) == records
