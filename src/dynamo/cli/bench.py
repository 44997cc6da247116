"""`dynamo bench`: build synthetic CMS-like inventories and measure the cold load."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from dynamo.bench.api import bench_api, bench_inject
from dynamo.bench.build import BuildReport, build_database
from dynamo.bench.consistency import bench_consistency
from dynamo.bench.detox import bench_detox
from dynamo.bench.extras import write_extras
from dynamo.bench.fileops import bench_fileops
from dynamo.bench.generator import REFERENCE_TIME
from dynamo.bench.loadbench import LoadReport, checkpoint_loader, measure_load, store_loader
from dynamo.bench.policy import bench_policy
from dynamo.bench.replication import bench_replication
from dynamo.bench.scales import SCALES, scale_named
from dynamo.bench.sizing import BenchSizes, sizes_for
from dynamo.bench.soak import bench_soak
from dynamo.bench.storage import bench_list, bench_pfn
from dynamo.cli.bench_plot import PlotKind, plot, write_plot
from dynamo.cli.bench_regress import regress
from dynamo.cli.dealer import bench as dealer_bench
from dynamo.cli.output import DbOption, JsonOption, fail, print_json, show_json
from dynamo.cli.progress import TableProgress, row_progress
from dynamo.errors import ConfigurationError, DynamoError
from dynamo.policy import partition_compiler
from dynamo.store.engine import make_engine
from dynamo.store.migration import check_schema

__all__ = ["bench_app"]

bench_app = typer.Typer(help="Synthetic CMS-like inventories and benchmarks.", no_args_is_help=True)
bench_app.command("dealer")(dealer_bench)
bench_app.command("plot")(plot)
bench_app.command("regress")(regress)

PlotOption = Annotated[
    Path | None, typer.Option("--plot", help="Also write a PNG of the results here.")
]

ScratchDbOption = Annotated[
    str | None,
    typer.Option("--db", help="An empty database URL (default: a temporary SQLite file, removed)."),
]

SizeScale = Annotated[
    str | None,
    typer.Option(
        "--scale",
        help="Size the run from this scale (xs, s, m, l; docs/benchmarks.md, 'Sizes at each "
        "scale'); a count option given as well overrides its part.",
    ),
]


def _sizes(scale: str | None) -> BenchSizes | None:
    """The sizes at ``scale`` (None without one); exits with the error for an unknown name."""
    if scale is None:
        return None
    try:
        return sizes_for(scale_named(scale))
    except ConfigurationError as exc:
        fail(exc)


def _pick(
    given: int | None, sizes: BenchSizes | None, sized: Callable[[BenchSizes], int], default: int
) -> int:
    """An explicit count, else the scale's, else the command's old default."""
    if given is not None:
        return given
    return default if sizes is None else sized(sizes)


def _label(report: dict[str, Any], sizes: BenchSizes | None) -> dict[str, Any]:
    """Name the scale a report was sized from (``dynamo bench plot sized`` reads it)."""
    if sizes is not None:
        report["scale"] = sizes.scale
    return report


@bench_app.command("generate")
def generate(
    db: DbOption,
    scale: Annotated[str, typer.Option("--scale", help=f"One of {', '.join(SCALES)}.")] = "xs",
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    force: Annotated[
        bool, typer.Option("--force", help="Drop and recreate a database that is not empty.")
    ] = False,
    files: Annotated[
        bool, typer.Option("--files/--no-files", help="Write the files table (slow at M, L).")
    ] = True,
    reference_time: Annotated[
        int, typer.Option("--reference-time", help="'Now' of the generated history (epoch s).")
    ] = REFERENCE_TIME,
) -> None:
    """Write a synthetic CMS-like inventory of the given scale into an empty database."""
    console = Console(stderr=True)
    try:
        chosen = scale_named(scale)
        with row_progress(console) as progress:
            report = build_database(
                db,
                chosen,
                seed=seed,
                reference_time=reference_time,
                force=force,
                with_files=files,
                observer=TableProgress(progress),
            )
    except DynamoError as exc:
        fail(exc)
    Console().print(_summary(report))


@bench_app.command("extras")
def extras(
    db: DbOption,
    scale: Annotated[str, typer.Option("--scale", help="The scale it was generated at.")] = "xs",
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    reference_time: Annotated[
        int, typer.Option("--reference-time", help="'Now' of the generated history (epoch s).")
    ] = REFERENCE_TIME,
    force: Annotated[
        bool, typer.Option("--force", help="Replace existing access records and locks.")
    ] = False,
) -> None:
    """Add access records and replica locks to a generated inventory (generate does it too)."""
    console = Console(stderr=True)
    engine = None
    try:
        chosen = scale_named(scale)
        engine = make_engine(db)
        check_schema(engine)
        with row_progress(console) as progress:
            report = write_extras(
                engine,
                scale=chosen,
                seed=seed,
                reference_time=reference_time,
                observer=TableProgress(progress),
                replace=force,
            )
    except DynamoError as exc:
        fail(exc)
    finally:
        if engine is not None:
            engine.dispose()
    rows = ", ".join(f"{table} {count:,}" for table, count in report.rows.items())
    Console().print(f"{rows} ({report.accessed_datasets:,} datasets accessed)")


def _summary(report: BuildReport) -> Table:
    table = Table(title=f"scale {report.scale} on {report.backend}, seed {report.seed}")
    table.add_column("table")
    table.add_column("rows", justify="right")
    table.add_column("seconds", justify="right")
    table.add_column("rows/s", justify="right")
    for name, rows in report.rows.items():
        seconds = report.seconds[name]
        rate = f"{rows / seconds:,.0f}" if seconds > 0 else ""
        table.add_row(name, f"{rows:,}", f"{seconds:.1f}", rate)
    if "indexes" in report.seconds:
        table.add_row("(indexes)", "", f"{report.seconds['indexes']:.1f}", "")
    if report.extras is not None:  # access records and locks
        for name, rows in report.extras.rows.items():
            seconds = report.extras.seconds[name]
            rate = f"{rows / seconds:,.0f}" if seconds > 0 else ""
            table.add_row(name, f"{rows:,}", f"{seconds:.1f}", rate)
    table.add_row("total", f"{report.total_rows:,}", f"{report.total_seconds:.1f}", "")
    pb = 10**15
    table.caption = (
        f"unique {report.unique_bytes / pb:,.1f} PB, "
        f"disk replicas {report.disk_bytes / pb:,.1f} PB, "
        f"tape replicas {report.tape_bytes / pb:,.1f} PB"
    )
    return table


@bench_app.command("load")
def load(
    db: DbOption,
    json: JsonOption = False,
    partitions: Annotated[
        bool,
        typer.Option(
            "--partitions/--no-partitions",
            help="Compile the partition conditions with the policy language.",
        ),
    ] = True,
    checkpoint: Annotated[
        Path | None,
        typer.Option("--checkpoint", help="Load the newest checkpoint in this directory."),
    ] = None,
) -> None:
    """Load the whole inventory cold and report seconds, peak RSS and bytes per object."""
    compiler = partition_compiler(now=REFERENCE_TIME) if partitions else None
    loader = store_loader if checkpoint is None else checkpoint_loader(checkpoint)
    try:
        report = measure_load(db, loader, partition_compiler=compiler)
    except DynamoError as exc:
        fail(exc)
    if json:
        print_json(report.to_dict())
    else:
        Console().print(_load_table(report))


def _load_table(report: LoadReport) -> Table:
    table = Table(title=f"cold load ({report.backend}, scale {report.scale})")
    table.add_column("figure")
    table.add_column("value", justify="right")
    mib = 1024 * 1024
    for name, count in report.counts.items():
        table.add_row(name, f"{count:,}")
    table.add_row("objects", f"{report.objects:,}")
    table.add_row("load seconds (wall)", f"{report.load_seconds:.1f}")
    table.add_row("CPU seconds", f"{report.cpu_seconds:.1f}")
    table.add_row("peak RSS", f"{report.peak_rss_bytes / mib:,.0f} MiB")
    table.add_row("bytes per object", f"{report.bytes_per_object:,.0f}")
    table.add_row("partitions compiled", "yes" if report.partition_compiler else "no")
    return table


@bench_app.command("detox")
def detox(
    db: DbOption,
    policy: Annotated[
        list[Path] | None,
        typer.Option(
            help="Policy files, one cycle each (default: the packaged Physics).", exists=True
        ),
    ] = None,
    partition: Annotated[str, typer.Option(help="The partition the policies clean.")] = "Physics",
    json: JsonOption = False,
) -> None:
    """Full Detox cycles (dry runs, history kept) on a generated inventory: seconds and memory."""
    policies = policy or [
        Path(str(files("dynamo.bench") / "data" / "dynamo_policies" / "Physics.txt"))
    ]
    try:
        report = bench_detox(db, policies, partition=partition)
    except DynamoError as exc:
        fail(exc)
    if json:
        print_json(report)
        return
    table = Table(
        title=f"Detox cycles ({report['objects']:,} objects, load {report['load_seconds']} s)"
    )
    for column in (
        "policy",
        "lines",
        "seconds",
        "extra RSS MiB",
        "delete",
        "keep",
        "protect",
        "iterations",
        "triggered",
        "reached",
    ):
        table.add_column(column, justify="left" if column == "policy" else "right")
    for cycle in report["cycles"]:
        extra = cycle["extra_rss_bytes"]
        table.add_row(
            cycle["policy"],
            f"{cycle['policy_lines']:,}",
            f"{cycle['seconds']:.1f}",
            "?" if extra is None else f"{extra / 2**20:,.0f}",
            *(f"{cycle['decisions'][k]:,}" for k in ("delete", "keep", "protect")),
            f"{cycle['iterations']:,}",
            f"{cycle['triggered_sites']}",
            f"{cycle['reached_low_watermark']}",
        )
    Console().print(table)


DEFAULT_POLICIES = Path("tests/fixtures/policies/dynamo-policies")
_EVALUATE_COLUMNS = {
    "policy": "policy",
    "dataset replicas": "dataset_replicas",
    "block replicas": "block_replicas",
    "wall seconds": "wall_seconds",
    "ns/dataset replica": "ns_per_dataset_replica",
    "ns/block replica": "ns_per_block_replica",
}


@bench_app.command("policy")
def policy(
    db: Annotated[
        str | None,
        typer.Option("--db", help="Evaluate over this inventory (default: a synthetic one)."),
    ] = None,
    policies: Annotated[
        Path,
        typer.Option("--policies", help="A dynamo-policies checkout (detox/, partitions.txt)."),
    ] = DEFAULT_POLICIES,
    replicas: Annotated[
        int | None,
        typer.Option("--replicas", help="Dataset replicas of the synthetic inventory [100,000]."),
    ] = None,
    scale: SizeScale = None,
    json: JsonOption = False,
) -> None:
    """Parse every real policy file, then evaluate Physics.txt and the largest campaign."""
    sizes = _sizes(scale)
    wanted = _pick(replicas, sizes, lambda z: z.policy_dataset_replicas, 100_000)
    if not (policies / "detox" / "Physics.txt").is_file():
        fail(
            ConfigurationError(f"{policies} is not a dynamo-policies folder (no detox/Physics.txt)")
        )
    try:
        inventory = None
        load_seconds = 0.0
        if db is not None:
            started = time.perf_counter()
            inventory = store_loader(db, partition_compiler(now=REFERENCE_TIME))
            load_seconds = time.perf_counter() - started
        report = bench_policy(inventory, policies, replicas=wanted)
    except DynamoError as exc:
        fail(exc)
    report["load_seconds"] = round(load_seconds, 1)
    _label(report, sizes)
    if json:
        print_json(report)
        return
    table = Table(title="policy evaluation")
    for column in _EVALUATE_COLUMNS:
        table.add_column(column, justify="left" if column == "policy" else "right")
    for row in report["evaluate"]:
        table.add_row(
            *(
                f"{row[key]:,}" if key != "policy" else row[key]
                for key in _EVALUATE_COLUMNS.values()
            )
        )
    Console().print(table)
    slowest = max(report["parse"].items(), key=lambda item: item[1]["seconds"])
    Console().print(
        f"parsed {len(report['parse'])} files in {report['parse_total_seconds']} s; "
        f"slowest {slowest[0]} ({slowest[1]['bytes']:,} bytes) in {slowest[1]['seconds']} s"
    )


@bench_app.command("inject")
def inject(
    db: Annotated[
        str | None, typer.Option("--db", help="Database URL (default: a temporary SQLite).")
    ] = None,
    files: Annotated[int | None, typer.Option("--files", help="[1,000,000]")] = None,
    blocks: Annotated[int | None, typer.Option("--blocks", help="[10,000]")] = None,
    datasets: Annotated[int | None, typer.Option("--datasets", help="[500]")] = None,
    per_call: Annotated[int, typer.Option("--per-call", help="Files per injection call.")] = 20_000,
    scale: SizeScale = None,
    json: JsonOption = False,
) -> None:
    """Injection throughput through the REST API (HTTP, validation, DB, memory)."""
    sizes = _sizes(scale)
    try:
        report = bench_inject(
            db,
            files=_pick(files, sizes, lambda z: z.inject_files, 1_000_000),
            blocks=_pick(blocks, sizes, lambda z: z.inject_blocks, 10_000),
            datasets=_pick(datasets, sizes, lambda z: z.inject_datasets, 500),
            per_call=per_call,
        )
    except DynamoError as exc:
        fail(exc)
    _label(report, sizes)
    if json:
        print_json(report)
    else:
        Console().print(
            f"injected {report['files']:,} files in {report['calls']} calls "
            f"in {report['seconds']} s: [bold]{report['files_per_second']:,} files/s[/bold] "
            f"({report['backend']})"
        )


@bench_app.command("api")
def api(
    db: DbOption,
    clients: Annotated[int, typer.Option("--clients", help="Concurrent keep-alive clients.")] = 16,
    duration: Annotated[float, typer.Option("--duration", help="Seconds of load.")] = 30.0,
    background_app: Annotated[
        str | None,
        typer.Option("--background-app", help="Keep this application running meanwhile."),
    ] = None,
    json: JsonOption = False,
    plot_to: PlotOption = None,
) -> None:
    """Read latency and throughput of a server over DB for the B5 mix of requests."""
    try:
        report = bench_api(db, clients=clients, duration=duration, background_app=background_app)
    except DynamoError as exc:
        fail(exc)
    if plot_to is not None:
        write_plot(PlotKind.API, [(plot_to, report)], plot_to)
    if json:
        print_json(report)
        return
    Console().print(
        f"{report['requests']:,} requests in {report['seconds']} s from {clients} clients: "
        f"[bold]{report['requests_per_second']:,} req/s, p50 {report['p50_ms']} ms, "
        f"p99 {report['p99_ms']} ms[/bold], {report['errors']} errors"
    )


@bench_app.command("soak")
def soak(
    db: DbOption,
    policy: Annotated[Path, typer.Option("--policy", help="The Detox policy run meanwhile.")],
    partitions: Annotated[
        Path | None, typer.Option("--partitions", help="The partitions file of the policy.")
    ] = None,
    clients: Annotated[int, typer.Option("--clients", min=1, help="Concurrent clients.")] = 16,
    duration: Annotated[float, typer.Option("--duration", help="Seconds of load.")] = 600.0,
    inject_share: Annotated[
        float, typer.Option("--inject-share", help="Share of requests that inject.")
    ] = 0.1,
    reads_only_tail: Annotated[
        float,
        typer.Option("--reads-only-tail", help="Last seconds of the duration: reads only."),
    ] = 0.0,
    json: JsonOption = False,
) -> None:
    """Sustained reads and injections with Detox and Dealer running; memory sampled."""
    try:
        report = bench_soak(
            db,
            policy=policy,
            partitions=partitions,
            clients=clients,
            duration=duration,
            inject_share=inject_share,
            reads_only_tail=reads_only_tail,
        )
    except DynamoError as exc:
        fail(exc)
    if json:
        print_json(report)
        return
    Console().print(
        f"{report['requests']:,} requests ({report['injections']:,} injections) in "
        f"{report['seconds']} s from {clients} clients: [bold]{report['requests_per_second']:,} "
        f"req/s, p50 {report['p50_ms']} ms, p99 {report['p99_ms']} ms, {report['errors']} "
        f"errors[/bold]; server RSS {report['rss_mb_start']} -> max {report['rss_mb_max']} -> "
        f"{report['rss_mb_end']} MB ({report.get('rss_kb_per_injection')} KB per injected "
        f"dataset); background runs {report['background_runs']}"
    )


@bench_app.command("pfn")
def pfn(
    lfns: Annotated[
        int | None, typer.Option("--lfns", min=1, help="LFNs translated per protocol [200,000].")
    ] = None,
    scale: SizeScale = None,
    json: JsonOption = False,
) -> None:
    """LFN->PFN translation rate on one core, over the real and own site catalogs."""
    sizes = _sizes(scale)
    report = bench_pfn(_pick(lfns, sizes, lambda z: z.pfn_lfns, 200_000))
    show_json(_label(report, sizes), json)


@bench_app.command("list")
def list_files(
    files: Annotated[
        int | None, typer.Option("--files", min=1, help="Files in the listed tree [100,000].")
    ] = None,
    scale: SizeScale = None,
    json: JsonOption = False,
) -> None:
    """Listing rate of a tree of FILES files from posix and from a local XRootD server."""
    sizes = _sizes(scale)
    try:
        report = bench_list(_pick(files, sizes, lambda z: z.list_files, 100_000))
    except DynamoError as exc:
        fail(exc)
    show_json(_label(report, sizes), json)


@bench_app.command("fileops")
def fileops(
    db: ScratchDbOption = None,
    count: Annotated[
        int | None,
        typer.Option("--count", min=1, help="Transfers, and as many deletions [1,000,000]."),
    ] = None,
    failure_fraction: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of tasks that fail (retryable).")
    ] = 0.02,
    batch_size: Annotated[int, typer.Option(min=1, help="Tasks per batch.")] = 1000,
    per_cycle: Annotated[
        int, typer.Option(min=1, help="Subscriptions picked per manager cycle.")
    ] = 100_000,
    scale: SizeScale = None,
    json: JsonOption = False,
) -> None:
    """File-operation queue throughput: COUNT transfers and COUNT deletions through the
    in-memory backend; task-state updates per second."""
    console = Console(stderr=True)
    sizes = _sizes(scale)
    with _scratch_database(db, "fileops") as url:
        try:
            with console.status("enqueueing and running cycles") as status:
                report = bench_fileops(
                    url,
                    count=_pick(count, sizes, lambda z: z.fileops_tasks, 1_000_000),
                    failure_fraction=failure_fraction,
                    batch_size=batch_size,
                    per_cycle=per_cycle,
                    on_cycle=lambda cycle, done: status.update(
                        f"cycle {cycle}: {done:,} tasks finished"
                    ),
                )
        except DynamoError as exc:
            fail(exc)
    show_json(_label(report, sizes), json)


@bench_app.command("consistency")
def consistency(
    db: ScratchDbOption = None,
    files: Annotated[
        list[int] | None,
        typer.Option("--files", min=1, help="Files at the site (repeatable) [400,000 4,000,000]."),
    ] = None,
    scale: SizeScale = None,
    json: JsonOption = False,
) -> None:
    """Site consistency at volume: read a site's N files from the inventory and compare a
    listing of them (planted differences) with it; seconds and memory per size."""
    console = Console(stderr=True)
    sizes = _sizes(scale)
    counts = files or list(sizes.consistency_files if sizes else (400_000, 4_000_000))
    reports: list[dict[str, Any]] = []
    for count in counts:
        with _scratch_database(db, "consistency") as url:
            try:
                with console.status(f"{count:,} files: writing, reading, comparing"):
                    reports.append(_label(bench_consistency(url, count), sizes))
            except DynamoError as exc:
                fail(exc)
    show_json(reports, json)


@bench_app.command("replication")
def replication(
    db: DbOption,
    rate: Annotated[
        float | None, typer.Option("--rate", min=1, help="ChangeSets per second [1,000].")
    ] = None,
    seconds: Annotated[float, typer.Option("--seconds", min=1, help="How long to write.")] = 10,
    poll_seconds: Annotated[
        float, typer.Option("--poll-seconds", min=0.001, help="The follower's poll interval.")
    ] = 0.1,
    writers: Annotated[
        int, typer.Option("--writers", min=1, help="Concurrent writers on the leader.")
    ] = 64,
    listen: Annotated[
        bool,
        typer.Option("--listen/--no-listen", help="PostgreSQL: wake the follower by NOTIFY."),
    ] = False,
    scale: SizeScale = None,
    json: JsonOption = False,
) -> None:
    """Follower lag: WRITERS concurrent writers offer RATE ChangeSets/s to a leader (group
    commit) on the empty PostgreSQL or MariaDB database DB while a follower process tails the
    log; the achieved rate, commit latency and lag from commit to apply (ms)."""
    sizes = _sizes(scale)
    offered = rate if rate is not None else sizes.replication_rate if sizes else 1000.0
    try:
        with Console(stderr=True).status(f"offering {offered:g} ChangeSets/s for {seconds:g} s"):
            report = bench_replication(
                db,
                rate=offered,
                seconds=seconds,
                poll_seconds=poll_seconds,
                writers=writers,
                listen=listen,
            )
    except DynamoError as exc:
        fail(exc)
    show_json(_label(report, sizes), json)


@contextmanager
def _scratch_database(db: str | None, name: str) -> Iterator[str]:
    """``db``, or a temporary SQLite file removed on exit."""
    if db is not None:
        yield db
        return
    with tempfile.TemporaryDirectory(prefix=f"dynamo-bench-{name}-") as scratch:
        yield f"sqlite:///{Path(scratch) / f'{name}.sqlite'}"


@bench_app.command("userdata")
def userdata(
    db: Annotated[
        str | None, typer.Option("--db", help="Database URL (default: a temporary SQLite).")
    ] = None,
    files: Annotated[int | None, typer.Option("--files", help="[5,000]")] = None,
    clients: Annotated[int, typer.Option("--clients", help="Concurrent clients.")] = 8,
    confirm_only: Annotated[
        bool, typer.Option("--confirm-only", help="Time the confirmations only.")
    ] = False,
    scale: SizeScale = None,
    json: JsonOption = False,
) -> None:
    """Confirmed user-data injections per second through the API (location + confirmation)."""
    from dynamo.bench.userdata import bench_userdata

    sizes = _sizes(scale)
    try:
        report = bench_userdata(
            db,
            files=_pick(files, sizes, lambda z: z.userdata_files, 5_000),
            clients=clients,
            confirm_only=confirm_only,
        )
    except DynamoError as exc:
        fail(exc)
    _label(report, sizes)
    if json:
        print_json(report)
    else:
        Console().print(
            f"injected {report['files']:,} user files with {report['clients']} clients in "
            f"{report['seconds']} s: [bold]{report['injections_per_second']:,} confirmed "
            f"injections/s[/bold] ({report['backend']})"
        )


peer_app = typer.Typer(help="Dynamo against another system, same machine and data.")
bench_app.add_typer(peer_app, name="peer")


@peer_app.command("rucio")
def peer_rucio(
    scale: Annotated[str, typer.Option("--scale", help="xs (CI), s (rucio-bench.md S), m.")] = "s",
    datasets: Annotated[
        int | None, typer.Option("--datasets", help="Override the scale's dataset count.")
    ] = None,
    json: JsonOption = False,
    plot_to: PlotOption = None,
) -> None:
    """Rucio 41.5.1 (own venv, own PostgreSQL database) against Dynamo on the same inventory:
    registration, REST listing, deletion decision, placement; each as Dynamo/Rucio."""
    from dynamo.bench.peer import run_peer_rucio
    from dynamo.bench.peer.scale import peer_scale_named

    console = Console(stderr=True)
    try:
        chosen = peer_scale_named(scale)
        if datasets is not None:
            chosen = chosen.with_datasets(datasets)
        report = run_peer_rucio(chosen, progress=lambda step: console.log(step))
    except DynamoError as exc:
        fail(exc)
    if plot_to is not None:
        write_plot(PlotKind.PEER, [(plot_to, report)], plot_to)
    if json:
        print_json(report)
        return
    table = Table("metric", "Dynamo", "Rucio", "unit", "advantage", "target")
    for m in report["metrics"]:
        target = "" if m["target"] is None else f"{m['target']}x"
        table.add_row(
            m["name"],
            f"{m['dynamo']:,}",
            f"{m['rucio']:,}",
            m["unit"],
            f"{m['advantage']}x",
            target,
        )
    Console().print(table)
