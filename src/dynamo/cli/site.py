"""`dynamo site`: look at a site's storage description (LFN <-> PFN with CMS catalogs)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dynamo.cli.output import fail, print_json
from dynamo.errors import ConfigurationError, DynamoError
from dynamo.storage.catalogs import load_catalog

__all__ = ["site_app"]

site_app = typer.Typer(help="Site storage: LFN <-> PFN translation.", no_args_is_help=True)


@site_app.callback()
def site() -> None:
    """Site storage: LFN <-> PFN translation."""


@site_app.command("pfn")
def pfn(
    names: Annotated[list[str], typer.Argument(help="LFNs (or PFNs with --reverse).")],
    catalog: Annotated[
        Path, typer.Option("--catalog", help="A storage.xml (TFC) or storage.json file.")
    ],
    protocol: Annotated[str, typer.Option("--protocol", "-p", help="Protocol name.")] = "direct",
    reverse: Annotated[bool, typer.Option("--reverse", help="Translate PFN -> LFN.")] = False,
    site: Annotated[str | None, typer.Option("--site", help="storage.json: site.")] = None,
    volume: Annotated[str | None, typer.Option("--volume", help="storage.json: volume.")] = None,
    destination: Annotated[
        str, typer.Option("--destination", help="Destination for destination-match rules.")
    ] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """Print `NAME -> TRANSLATION` for every NAME; exit 1 if any has no translation.

    For storage.json the volume is the first with rules for PROTOCOL (or --site/--volume).
    """
    try:
        rules = load_catalog(catalog, site=site, volume=volume, protocol=protocol)
    except ConfigurationError as exc:
        if site is not None or volume is not None or catalog.suffix != ".json":
            fail(exc)
        try:  # no volume has the protocol: say so for each name below
            rules = load_catalog(catalog)
        except DynamoError:
            fail(exc)
    translate = rules.to_lfn if reverse else rules.to_pfn
    results: list[dict[str, str | None]] = []
    failed = 0
    for name in names:
        try:
            results.append(
                {"name": name, "result": translate(name, protocol, destination=destination)}
            )
        except DynamoError as exc:
            failed += 1
            results.append({"name": name, "result": None, "error": str(exc)})
            if not as_json:
                typer.echo(f"error[{exc.code}]: {name}: {exc}", err=True)
    if as_json:
        print_json(results)
    else:
        for item in results:
            if item["result"] is not None:
                typer.echo(f"{item['name']} -> {item['result']}")
    if failed:
        raise typer.Exit(1)
