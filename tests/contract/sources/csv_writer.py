"""Writes a source document (the JSON schema) as the CSV files of ``docs/sources.md``: the
test side of the CSV adapter's contract (the same document read both ways must agree)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from dynamo.sources.csvfiles import CSV_COLUMNS


def write_csv_source(doc: dict[str, Any], directory: Path) -> Path:
    """Write ``doc`` into ``directory`` (made if need be); returns it."""
    directory.mkdir(parents=True, exist_ok=True)
    tables: dict[str, list[dict[str, Any]]] = {}
    if "as_of" in doc:
        tables["meta"] = [{"as_of": doc["as_of"]}]
    for site in doc.get("sites", ()):
        tables.setdefault("sites", []).append({k: v for k, v in site.items() if k != "quotas"})
        for partition, quota in site.get("quotas", {}).items():
            row = {"site": site["name"], "partition": partition, "quota": quota}
            tables.setdefault("quotas", []).append(row)
    for name in ("groups", "popularity", "demand"):
        if name in doc:
            tables[name] = list(doc[name])
    for dataset in doc.get("datasets", ()):
        row = {k: v for k, v in dataset.items() if k != "blocks"}
        if row.get("software_version"):
            row["software_version"] = ".".join(str(v) for v in row["software_version"] if v != "")
        tables.setdefault("datasets", []).append(row)
        for block in dataset.get("blocks", ()):
            row = {"dataset": dataset["name"]} | {k: v for k, v in block.items() if k != "files"}
            tables.setdefault("blocks", []).append(row)
            for file in block.get("files", ()):
                row = {"dataset": dataset["name"], "block": block["name"]} | file
                tables.setdefault("files", []).append(row)
    for replica in doc.get("replicas", ()):
        tables.setdefault("replicas", []).append(
            {k: v for k, v in replica.items() if k != "blocks"}
        )
        for part in replica.get("blocks") or ():
            row = {"dataset": replica["dataset"], "site": replica["site"]} | part
            tables.setdefault("block_replicas", []).append(row)
    for user in doc.get("users", ()):
        tables.setdefault("users", []).append({"name": user["name"], "dn": user["dn"]})
        for role, target in user.get("roles", ()):
            row = {"user": user["name"], "role": role, "target": target}
            tables.setdefault("user_roles", []).append(row)
    for kind, keys in doc.get("deleted", {}).items():
        columns = CSV_COLUMNS[f"deleted_{kind}"]
        rows = [
            dict(zip(columns, [key] if isinstance(key, str) else key, strict=True)) for key in keys
        ]
        tables[f"deleted_{kind}"] = rows
    for name, rows in tables.items():
        with (directory / f"{name}.csv").open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS[name])
            writer.writeheader()
            for row in rows:
                writer.writerow({k: _cell(v) for k, v in row.items()})
    return directory


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
