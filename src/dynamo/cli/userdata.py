"""``dynamo userdata``: a user's datasets in their own namespace, through the server's API.

``inject`` does a job's whole sequence for a local file: adler32, ask the server where, copy
there by the protocol it names, confirm (the server checks the copy on storage). ``status``
shows datasets, blocks and where they are; ``complete``, ``subscribe``, ``delete`` and
``import`` act on a dataset; ``health`` and ``usage`` show the UserData partition; ``quota``
(admins) sets a site's quota. ``run`` is the background pass (imports, consolidation,
deletion) for a server that does not schedule it.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from dynamo.cli.output import JsonOption, fail
from dynamo.cli.remote import ServerOption, call, show_table, when
from dynamo.errors import DynamoError
from dynamo.fileops.endpoints import open_storage
from dynamo.storage import adler32_file
from dynamo.userdata import PassSummary
from dynamo.userdata.naming import parse_dataset

__all__ = ["userdata_app"]

userdata_app = typer.Typer(help="Your user datasets: inject, status, complete, consolidate.")

API = "/userdata"
DatasetArg = Annotated[str, typer.Argument(help="/Primary/<user>-<label>/USER")]
SiteOption = Annotated[str, typer.Option("--site", help="The site the file is (to be) at.")]


def _print(value: Any, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(value, indent=2, sort_keys=True))


def _default_lfn(server: str | None, dataset: str, local: Path) -> str:
    identity = call(server, "GET", "/whoami")
    user = identity.get("user") or fail_user()
    label = parse_dataset(dataset).label
    return f"/store/user/{user}/{label}/{local.name}"


def fail_user() -> str:
    typer.echo("error[forbidden]: the server maps your DN to no user", err=True)
    raise typer.Exit(2)


@userdata_app.command()
def inject(
    local: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The file.")],
    dataset: Annotated[str, typer.Option("--dataset", help="/Primary/<user>-<label>/USER")],
    site: SiteOption,
    lfn: Annotated[
        str | None, typer.Option(help="Default /store/user/<you>/<label>/<name>.")
    ] = None,
    server: ServerOption = None,
    as_json: JsonOption = False,
) -> None:
    """Inject a local file: checksum, location, copy, confirmation, with a progress bar."""
    try:
        parse_dataset(dataset)
    except DynamoError as exc:
        fail(exc)
    console = Console(stderr=True)
    columns = (TextColumn("{task.description:<24}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("adler32", total=4)
        checksum = adler32_file(local)
        size = local.stat().st_size
        progress.update(task, advance=1, description="asking for a location")
        name = lfn or _default_lfn(server, dataset, local)
        body = {"dataset": dataset, "lfn": name, "site": site, "size": size}
        located = call(server, "POST", f"{API}/locations", body=body)
        progress.update(task, advance=1, description=f"copying by {located['protocol']}")
        _copy(local, located["pfn"], checksum)
        progress.update(task, advance=1, description="confirming")
        confirm = {k: body[k] for k in ("dataset", "lfn", "site", "size")} | {"adler32": checksum}
        done = call(server, "POST", f"{API}/files", body=confirm)
        progress.update(task, advance=1, description="registered")
    _print(done, as_json)
    if not as_json:
        closed = " (now closed)" if done["block_closed"] else ""
        typer.echo(
            f"{done['lfn']} registered at {done['site']} in block {done['block']}{closed}; "
            f"user data at {done['site']}: {done['health']}"
        )


def _copy(local: Path, pfn: str, checksum: str) -> None:
    parts = urlsplit(pfn)
    try:
        storage = open_storage(f"{parts.scheme}://{parts.netloc}/")
        try:
            storage.upload(local, "/" + parts.path.lstrip("/"), checksum=checksum, overwrite=True)
        finally:
            close = getattr(storage, "close", None)
            if close is not None:
                close()
    except DynamoError as exc:
        fail(exc)


@userdata_app.command()
def status(
    dataset: Annotated[str | None, typer.Argument(help="One dataset (default: all).")] = None,
    owner: Annotated[str | None, typer.Option(help="Only this user's datasets.")] = None,
    server: ServerOption = None,
    as_json: JsonOption = False,
) -> None:
    """Datasets (state, sites) or one dataset's blocks and imports."""
    if dataset is None:
        found = call(server, "GET", f"{API}/datasets", params={"owner": owner})
        _print(found, as_json)
        if not as_json:
            rows = [
                (d["name"], d["owner"], d["state"], d["num_files"], d["size"], ",".join(d["sites"]))
                for d in found
            ]
            show_table(
                "user datasets", ("dataset", "owner", "state", "files", "bytes", "sites"), rows
            )
        return
    one = call(server, "GET", f"{API}/datasets/{dataset}")
    _print(one, as_json)
    if not as_json:
        typer.echo(
            f"{one['name']}: {one['state']}, {one['num_files']} files, {one['size']} bytes, "
            f"created {when(one['created'])}, target {one['target_site'] or '-'}"
        )
        blocks = [
            (b["name"], b["state"], b["num_files"], b["size"], _where(b["replicas"]))
            for b in one["blocks"]
        ]
        show_table("blocks", ("block", "state", "files", "bytes", "at"), blocks)
        if one["imports"]:
            show_table(
                "imports",
                ("lfn", "status", "message"),
                [(i["lfn"], i["status"], i["message"] or "") for i in one["imports"]],
            )


def _where(replicas: list[dict[str, Any]]) -> str:
    """``SITE`` for a complete replica, ``SITE(n)`` for one holding n files so far."""
    return " ".join(
        r["site"] if r["complete"] else f"{r['site']}({r['num_files']})" for r in replicas
    )


@userdata_app.command()
def complete(dataset: DatasetArg, server: ServerOption = None) -> None:
    """Processing is complete: close the remaining blocks."""
    done = call(server, "POST", f"{API}/complete", body={"dataset": dataset})
    typer.echo(f"{dataset}: {done['state']}, {len(done['blocks'])} blocks closed")


@userdata_app.command()
def subscribe(
    dataset: DatasetArg,
    site: Annotated[str, typer.Argument(help="Where every file is to be.")],
    server: ServerOption = None,
) -> None:
    """Consolidate the dataset at one site; the copies elsewhere go once it is there."""
    done = call(server, "POST", f"{API}/subscriptions", body={"dataset": dataset, "site": site})
    typer.echo(f"{dataset} -> {site}: {done['transfers']} file transfers subscribed")


@userdata_app.command()
def delete(dataset: DatasetArg, server: ServerOption = None) -> None:
    """Delete the dataset: its files everywhere, then the dataset."""
    done = call(server, "POST", f"{API}/deletions", body={"dataset": dataset})
    typer.echo(f"{dataset}: {done['deletions']} file deletions subscribed")


@userdata_app.command("import")
def import_files(
    dataset: DatasetArg,
    site: Annotated[str, typer.Argument(help="Where the files are to be copied.")],
    files: Annotated[list[str], typer.Argument(help="LFN=SOURCE_URL[,ADLER32] for each file.")],
    server: ServerOption = None,
) -> None:
    """Import files produced outside Dynamo into your namespace at ``site``."""
    entries = []
    for item in files:
        lfn, sep, rest = item.partition("=")
        if not sep:
            typer.echo(f"error[bad_request]: {item!r} is not LFN=SOURCE_URL", err=True)
            raise typer.Exit(2)
        url, _, checksum = rest.partition(",")
        entries.append(
            {"lfn": lfn, "source_url": url} | ({"adler32": checksum} if checksum else {})
        )
    done = call(
        server, "POST", f"{API}/imports", body={"dataset": dataset, "site": site, "files": entries}
    )
    typer.echo(f"{len(done['ids'])} files queued for import (ids {done['ids']})")


@userdata_app.command()
def health(server: ServerOption = None, as_json: JsonOption = False) -> None:
    """The UserData partition: quota, use and level per site."""
    found = call(server, "GET", f"{API}/health")
    _print(found, as_json)
    if not as_json:
        typer.echo(
            f"{found['partition']}: {found['level']} ({found['unique_bytes']} unique bytes of "
            f"{found['quota']}; warn at {found['warn_at']:.0%}, alarm at {found['alarm_at']:.0%})"
        )
        rows = [(s["site"], s["quota"], s["used"], s["level"]) for s in found["sites"]]
        show_table("sites", ("site", "quota", "used", "level"), rows)


@userdata_app.command()
def usage(
    user: Annotated[str | None, typer.Option(help="Only this user.")] = None,
    server: ServerOption = None,
    as_json: JsonOption = False,
) -> None:
    """Bytes and files per user and site."""
    found = call(server, "GET", f"{API}/usage", params={"user": user})
    _print(found, as_json)
    if not as_json:
        rows = [(u["user"], u["site"], u["files"], u["bytes"]) for u in found]
        show_table("user data usage", ("user", "site", "files", "bytes"), rows)


@userdata_app.command()
def quota(
    site: Annotated[str, typer.Argument()],
    size: Annotated[int, typer.Argument(help="Bytes; negative: unlimited.")],
    server: ServerOption = None,
) -> None:
    """Set a site's user-data quota (admins)."""
    call(server, "PUT", f"{API}/quotas/{site}", body={"quota": size})
    typer.echo(f"{site}: user-data quota {size} bytes")


@userdata_app.command()
def run(
    db: Annotated[str, typer.Option(help="Database URL of the inventory.")],
    config: Annotated[
        Path | None, typer.Option(help="Server configuration ([storage.*], [userdata]).")
    ] = None,
    every: Annotated[
        float | None, typer.Option(help="Run a pass every this many seconds (default: once).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Background passes: imports, consolidation steps, deletions of deleted datasets. Between
    passes the inventory catches up with the log (what the server and others committed)."""
    from dynamo.policy import partition_compiler
    from dynamo.server.config import load_config
    from dynamo.server.service import InventoryService
    from dynamo.store import SqlInventoryStore
    from dynamo.userdata import UserDataService

    try:
        settings = load_config(config)
        store = SqlInventoryStore.open(db)
    except DynamoError as exc:
        fail(exc)
    try:
        service = InventoryService.load(store, partition_compiler=partition_compiler())
        userdata = UserDataService(
            service, store.engine, settings.fileops.endpoints, settings.userdata
        )
        while True:
            for seq, changeset in store.read_log(service.seq):
                service.apply_logged(seq, changeset)
            summary = asyncio.run(userdata.run_once())
            _report_pass(summary, as_json)
            if every is None:
                return
            time.sleep(every)
    except DynamoError as exc:
        fail(exc)
    finally:
        store.close()


def _report_pass(summary: PassSummary, as_json: bool) -> None:
    result = {
        "imported": summary.imported,
        "import_failures": summary.import_failures,
        "transfers": summary.transfers,
        "deletions": summary.deletions,
        "consolidated": summary.consolidated,
        "purged": summary.purged,
    }
    if as_json:
        typer.echo(json.dumps(result, indent=2, sort_keys=True))
    else:
        typer.echo(", ".join(f"{k}: {v}" for k, v in result.items()))
