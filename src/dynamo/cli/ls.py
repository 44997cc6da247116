"""`dynamo ls ...` and `dynamo inject|invalidate`: the CLI client of the REST API."""

from __future__ import annotations

import json as jsonlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from dynamo.cli.output import JsonOption, fail, print_json
from dynamo.client import client_from_env
from dynamo.errors import ConfigurationError, DynamoError

__all__ = ["inject", "invalidate", "ls_app"]

ls_app = typer.Typer(help="List inventory objects from a Dynamo server.", no_args_is_help=True)

Server = Annotated[
    str | None,
    typer.Option("--server", envvar="DYNAMO_SERVER", help="Server URL, e.g. https://host:8443."),
]
TB = 10**12


def _call(action: Callable[[], Any]) -> Any:
    try:
        return action()
    except DynamoError as exc:
        fail(exc)


def _get(server: str | None, path: str, **params: Any) -> Any:
    def action() -> Any:
        with client_from_env(server) as client:
            return client.get(path, **params)

    return _call(action)


def _table(title: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    table = Table(title=title)
    for column in columns:
        table.add_column(
            column, justify="right" if column.endswith(("TB", "files", "blocks")) else "left"
        )
    for row in rows:
        table.add_row(*(str(cell) for cell in row))
    Console().print(table)


def _tb(size: int) -> str:
    return f"{size / TB:,.3f}"


@ls_app.command("datasets")
def ls_datasets(
    name: Annotated[str, typer.Argument(help="Name or glob.")] = "*",
    limit: Annotated[int, typer.Option("--limit", help="At most this many.")] = 1000,
    server: Server = None,
    json: JsonOption = False,
) -> None:
    """Datasets matching NAME."""
    page = _get(server, "/datasets", name=name, limit=limit)
    if json:
        print_json(page)
        return
    rows = [
        (
            d["name"],
            d["status"],
            _tb(d["size"]),
            d["num_blocks"],
            d["num_files"],
            " ".join(d["sites"]),
        )
        for d in page["items"]
    ]
    _table("datasets", ("name", "status", "TB", "blocks", "files", "sites"), rows)


@ls_app.command("blocks")
def ls_blocks(dataset: str, server: Server = None, json: JsonOption = False) -> None:
    """The blocks of DATASET."""
    blocks = _get(server, f"/datasets/{dataset}/blocks")
    if json:
        print_json(blocks)
        return
    rows = [(b["name"], _tb(b["size"]), b["num_files"], " ".join(b["sites"])) for b in blocks]
    _table(dataset, ("block", "TB", "files", "sites"), rows)


@ls_app.command("files")
def ls_files(dataset: str, block: str, server: Server = None, json: JsonOption = False) -> None:
    """The files of a block (BLOCK is the part after '#')."""
    files = _get(server, "/files", dataset=dataset, block=block)
    if json:
        print_json(files)
        return
    _table(
        f"{dataset}#{block}",
        ("lfn", "bytes", "adler32"),
        [(f["lfn"], f["size"], f["adler32"]) for f in files],
    )


@ls_app.command("sites")
def ls_sites(
    name: Annotated[str, typer.Argument(help="Name or glob.")] = "*",
    partition: Annotated[str, typer.Option("--partition", help="Show this partition.")] = "Physics",
    server: Server = None,
    json: JsonOption = False,
) -> None:
    """Sites with quota, usage and occupancy in a partition."""
    page = _get(server, "/sites", name=name)
    if json:
        print_json(page)
        return
    rows = []
    for site in page["items"]:
        usage = next((p for p in site["partitions"] if p["partition"] == partition), None)
        if usage is None:
            rows.append((site["name"], site["storage_type"], site["status"], "", "", ""))
            continue
        occupancy = "inf" if usage["occupancy"] is None else f"{usage['occupancy']:.1%}"
        rows.append(
            (
                site["name"],
                site["storage_type"],
                site["status"],
                _tb(usage["quota"]),
                _tb(usage["physical_bytes"]),
                occupancy,
            )
        )
    _table(
        f"sites, partition {partition}",
        ("site", "type", "status", "quota TB", "used TB", "occupancy"),
        rows,
    )


@ls_app.command("replicas")
def ls_replicas(
    site: Annotated[str | None, typer.Option("--site", help="Site name or glob.")] = None,
    dataset: Annotated[str | None, typer.Option("--dataset", help="Dataset name or glob.")] = None,
    group: Annotated[
        str | None, typer.Option("--group", help="Owner ('null': the null group).")
    ] = None,
    blocks: Annotated[bool, typer.Option("--blocks", help="List block replicas.")] = False,
    limit: Annotated[int, typer.Option("--limit")] = 1000,
    server: Server = None,
    json: JsonOption = False,
) -> None:
    """Dataset (or, with --blocks, block) replicas matching the filters."""
    path = "/blockreplicas" if blocks else "/replicas"
    page = _get(server, path, site=site, dataset=dataset, group=group, limit=limit)
    if json:
        print_json(page)
        return
    rows: list[tuple[object, ...]]
    if blocks:
        rows = [
            (
                r["dataset"] + "#" + r["block"],
                r["site"],
                r["group"],
                _tb(r["size"]),
                "yes" if r["is_complete"] else "no",
            )
            for r in page["items"]
        ]
        _table(
            f"block replicas ({page['total']})", ("block", "site", "group", "TB", "complete"), rows
        )
        return
    rows = [
        (
            r["dataset"],
            r["site"],
            r["group"],
            _tb(r["size"]),
            r["num_blocks"],
            "yes" if r["is_complete"] else "no",
        )
        for r in page["items"]
    ]
    _table(
        f"dataset replicas ({page['total']})",
        ("dataset", "site", "group", "TB", "blocks", "complete"),
        rows,
    )


def _read_json(path: Path) -> Any:
    try:
        return jsonlib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        fail(ConfigurationError(f"cannot read {path}: {exc.strerror}"))
    except jsonlib.JSONDecodeError as exc:
        fail(ConfigurationError(f"{path}:{exc.lineno}:{exc.colno}: not JSON: {exc.msg}"))


def _post(server: str | None, path: str, body: Any) -> Any:
    def action() -> Any:
        with client_from_env(server) as client:
            return client.post(path, body)

    return _call(action)


def inject(
    file: Annotated[Path, typer.Argument(help="JSON: groups, sites, datasets, dataset_replicas.")],
    server: Server = None,
    json: JsonOption = False,
) -> None:
    """Inject (add or update) what FILE describes; atomic and idempotent."""
    result = _post(server, "/inject", _read_json(file))
    if json:
        print_json(result)
    else:
        Console().print(
            f"injected: {result['operations']:,} operations, log seqs {result['log_seqs']}"
        )


def invalidate(
    file: Annotated[
        Path, typer.Argument(help="JSON: datasets, blocks, files, replicas to delete.")
    ],
    server: Server = None,
    json: JsonOption = False,
) -> None:
    """Delete from the inventory what FILE names."""
    result = _post(server, "/invalidate", _read_json(file))
    if json:
        print_json(result)
    else:
        Console().print(
            f"invalidated: {result['operations']:,} operations, log seqs {result['log_seqs']}"
        )
