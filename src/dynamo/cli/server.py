"""`dynamo server`: load the inventory and serve the REST API from one event loop."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from dynamo.api.app import create_app
from dynamo.api.auth import Revocations, SqlUserDirectory, build_authenticator, uvicorn_config
from dynamo.cli.output import fail
from dynamo.errors import ConfigurationError, DynamoError
from dynamo.policy import partition_compiler
from dynamo.server.checkpoints import Checkpointer, CheckpointSettings, load_service
from dynamo.server.config import ServerConfig, load_config
from dynamo.server.leader import ClusterSettings, ServerNode, single_server_lock
from dynamo.server.periodic import PeriodicTask, chain_hooks
from dynamo.server.scheduler import build_scheduler
from dynamo.storage.catalogs import load_catalog
from dynamo.store import SqlInventoryStore
from dynamo.userdata import UserDataService
from dynamo.web import install_pages

__all__ = ["serve"]

log = logging.getLogger("dynamo.server")


def serve(
    config: Annotated[
        Path | None, typer.Option("--config", help="A TOML configuration file.")
    ] = None,
    db: Annotated[
        str | None, typer.Option("--db", envvar="DYNAMO_DB", help="Database URL.")
    ] = None,
    host: Annotated[str | None, typer.Option("--host", help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port to listen on.")] = None,
    tls_cert: Annotated[
        str | None, typer.Option("--tls-cert", help="Host certificate (PEM).")
    ] = None,
    tls_key: Annotated[str | None, typer.Option("--tls-key", help="Host key (PEM).")] = None,
    ca_dir: Annotated[
        str | None, typer.Option("--ca-dir", help="Directory of CA certificates.")
    ] = None,
    crl: Annotated[
        list[str] | None,
        typer.Option("--crl", help="A CRL file (besides the *.r0 of --ca-dir); repeatable."),
    ] = None,
    trusted_dn_header: Annotated[
        str | None,
        typer.Option("--trusted-dn-header", help="Client DN header of a trusted front end."),
    ] = None,
    allow_http: Annotated[
        bool | None, typer.Option("--allow-http", help="Serve plain HTTP (loopback only).")
    ] = None,
    name: Annotated[
        str | None,
        typer.Option("--name", help="This server among those sharing the database."),
    ] = None,
    advertise_url: Annotated[
        str | None,
        typer.Option("--advertise-url", help="The URL other servers redirect writes to."),
    ] = None,
    failover_seconds: Annotated[
        float | None,
        typer.Option("--failover-seconds", help="Bound on taking over a silent leader."),
    ] = None,
    poll_seconds: Annotated[
        float | None, typer.Option("--poll-seconds", help="How often a follower reads the log.")
    ] = None,
    checkpoint_dir: Annotated[
        str | None,
        typer.Option("--checkpoint-dir", help="Start from the newest checkpoint here; write them."),
    ] = None,
    checkpoint_seconds: Annotated[
        float | None,
        typer.Option("--checkpoint-seconds", help="How often to write one (0: never)."),
    ] = None,
) -> None:
    """Load the inventory, then serve the REST API (TLS with client certificates)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        settings = (
            load_config(config)
            .with_overrides(
                db=db,
                host=host,
                port=port,
                tls_cert=tls_cert,
                tls_key=tls_key,
                ca_dir=ca_dir,
                crl_files=tuple(crl) if crl else None,
                trusted_dn_header=trusted_dn_header,
                allow_http=allow_http,
                name=name,
                advertise_url=advertise_url,
                failover_seconds=failover_seconds,
                poll_seconds=poll_seconds,
                checkpoint_dir=checkpoint_dir,
                checkpoint_seconds=checkpoint_seconds,
            )
            .check()
        )
        store = SqlInventoryStore.open(settings.db)
        single_lock = single_server_lock(store)
        compiler = partition_compiler()
        checkpoints = (
            None
            if not settings.checkpoint_dir
            else CheckpointSettings(
                directory=Path(settings.checkpoint_dir),
                every_seconds=settings.checkpoint_seconds,
                max_backlog=settings.checkpoint_max_backlog,
            )
        )
        service = load_service(store, partition_compiler=compiler, checkpoints=checkpoints)
        authenticator = build_authenticator(
            SqlUserDirectory(store.engine, ttl=settings.user_cache_seconds),
            trusted_dn_header=settings.trusted_dn_header,
            front_ends=settings.trusted_front_ends,
            revocations=_revocations(settings),
        )
        scheduler = build_scheduler(
            service,
            store,
            settings.scheduler,
            detox=settings.detox,
            fileops=settings.fileops,
            consistency=settings.consistency,
            dealer=settings.dealer,
        )
        catalogs = {
            entry.site: load_catalog(
                entry.path, site=entry.site, volume=entry.volume, protocol=entry.protocol
            )
            for entry in settings.catalogs
        }
        userdata = UserDataService(
            service, store.engine, settings.fileops.endpoints, settings.userdata
        )
        passes = _userdata_passes(userdata)
        node = ServerNode(
            service,
            store,
            ClusterSettings(
                name=settings.server_name,
                url=settings.server_url,
                failover_seconds=settings.failover_seconds,
                poll_seconds=settings.poll_seconds,
            ),
            on_lead=chain_hooks(None if scheduler is None else scheduler.start, passes.start),
            on_follow=chain_hooks(passes.stop, None if scheduler is None else scheduler.stop),
            partition_compiler=compiler,
            single_lock=single_lock,
            checkpointer=None if checkpoints is None else Checkpointer(store, checkpoints),
        )
        app = create_app(
            service,
            authenticator=authenticator,
            scheduler=scheduler,
            catalogs=catalogs,
            node=node,
            max_body=settings.max_body,
            endpoints=settings.fileops.endpoints,
            userdata_options=settings.userdata,
            userdata_service=userdata,
        )
        install_pages(app)
        # the request log (dynamo.api.access) has the client, the status and the request id:
        # uvicorn's own access line would be a second line per request (12 % of a listing's CPU)
        server_config = uvicorn_config(app, settings, log_level="info", access_log=False)
    except DynamoError as exc:
        fail(exc)
    _run(server_config, settings)


def _userdata_passes(userdata: UserDataService) -> PeriodicTask:
    """The leader's user-data pass: imports, consolidation steps, purges (``[userdata]``)."""

    async def one_pass() -> str:
        return (await userdata.run_once()).describe()

    return PeriodicTask("userdata pass", userdata.options.pass_every, one_pass)


def _revocations(settings: ServerConfig) -> Revocations | None:
    """The CRLs the X509 authenticator checks: those of the CA directory and the configured
    files; None without TLS."""
    if not settings.uses_tls:
        return None
    ca_dir = Path(settings.ca_dir) if settings.ca_dir else None
    files = [Path(path) for path in settings.crl_files]
    for path in files:
        if not path.is_file():
            raise ConfigurationError(f"CRL file {path} does not exist")
    return Revocations(ca_dir, files, refresh_seconds=settings.crl_refresh_seconds)


def _run(server_config: uvicorn.Config, settings: ServerConfig) -> None:
    scheme = "https" if settings.uses_tls else "http"
    log.info(
        "serving the API on %s://%s:%d/api/v1 and the pages on %s://%s:%d/",
        scheme,
        settings.host,
        settings.port,
        scheme,
        settings.host,
        settings.port,
    )
    if settings.trusted_dn_header:
        log.warning(
            "trusting the client DN in header %s: only a front end that strips it from "
            "clients may reach this server",
            settings.trusted_dn_header,
        )
    elif not settings.uses_tls:
        log.warning("plain HTTP on %s: no client identities, reads only", settings.host)
    uvicorn.Server(server_config).run()
