"""Server configuration: a TOML file, overridden by command-line flags.

```toml
[server]
db = "var/dynamo.sqlite"       # database URL
host = "127.0.0.1"
port = 8443
tls_cert = "/etc/grid-security/hostcert.pem"
tls_key = "/etc/grid-security/hostkey.pem"
ca_dir = "/etc/grid-security/certificates"   # a directory of CA certificates (and CRLs, *.r0)
crl_files = []                 # more CRL files (PEM or DER), besides the *.r0 of ca_dir
crl_refresh_seconds = 60.0     # how often the CRL files are looked at again (reloaded if changed)
user_cache_seconds = 10.0      # how long the server trusts its copy of the users and grants
trusted_dn_header = ""         # e.g. "X-SSL-Client-S-DN" behind a trusted front end
trusted_front_ends = ["127.0.0.1", "::1"]   # the only addresses whose DN header is believed
max_body = 67108864            # bytes: larger request bodies get 413 before they are read
allow_http = false             # plain HTTP, only on a loopback address
name = ""                      # this server among those sharing the database (default host:port)
advertise_url = ""             # where the others send writes to it (default scheme://host:port)
failover_seconds = 30.0        # a follower takes over a silent leader within this bound
poll_seconds = 0.1             # how often a follower reads the log
checkpoint_dir = ""            # start from the newest inventory checkpoint here, and write them
checkpoint_seconds = 3600.0    # ... every this often (0: only read them)
checkpoint_max_backlog = 50000 # load the tables instead when a checkpoint is this many entries old

[scheduler]                    # applications and schedules: see dynamo.server.schedconfig

[detox]                        # partitions, policy files, producers: see dynamo.detox.config

[storage.T2_US_MIT]            # where each site's files are: see dynamo.fileops.endpoints
url = "root://xrootd.example.org:1094//data"
[fileops]                      # manager and worker options: see dynamo.fileops.config
[fts3]                         # optional: the FTS3 server for sites with backend = "fts3"
[consistency]                  # see dynamo.consistency.config
[dealer]
config = "dealer_config.json"  # the Dealer's configuration (CMS JSON shape; default: built in)
[userdata]                     # user data: see dynamo.userdata.options
max_files_per_block = 100      # a user block is closed at this many files
warn_at = 0.60                 # the UserData partition warns from this occupancy ...
alarm_at = 0.75                # ... and alarms from this one
pass_every = 300               # the leader's background pass (imports, consolidation); 0: off
```
"""

from __future__ import annotations

import ipaddress
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from dynamo.consistency import ConsistencyConfig
from dynamo.dealer import DealerConfig, load_dealer_config
from dynamo.detox import DetoxConfig
from dynamo.errors import ConfigurationError
from dynamo.fileops.config import FileOpsConfig, fileops_config_from
from dynamo.server.schedconfig import SchedulerConfig
from dynamo.userdata import UserDataOptions, userdata_options_from

__all__ = ["ServerConfig", "load_config"]


@dataclass(frozen=True, slots=True, kw_only=True)
class CatalogConfig:
    """The file catalog of a site: a CMS storage.xml or storage.json (and, for storage.json,
    which volume and protocol to take)."""

    site: str
    path: Path
    volume: str | None = None
    protocol: str | None = None


def _catalogs(table: Mapping[str, Any], base: Path, where: str) -> tuple[CatalogConfig, ...]:
    """``[catalogs]``: ``SITE = "path"`` or ``SITE = {path = "...", volume = "...", ...}``."""
    found = []
    for site, value in table.items():
        entry = {"path": value} if isinstance(value, str) else dict(value)
        unknown = sorted(set(entry) - {"path", "volume", "protocol"})
        if unknown or "path" not in entry:
            raise ConfigurationError(
                f"{where}: [catalogs] {site}: give a path (and optionally volume, protocol)"
                + (f"; unknown keys {', '.join(unknown)}" if unknown else "")
            )
        found.append(
            CatalogConfig(
                site=site,
                path=base / str(entry["path"]),
                volume=entry.get("volume"),
                protocol=entry.get("protocol"),
            )
        )
    return tuple(found)


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerConfig:
    db: str = "var/dynamo.sqlite"
    host: str = "127.0.0.1"
    port: int = 8443
    tls_cert: str | None = None
    tls_key: str | None = None
    ca_dir: str | None = None
    crl_files: tuple[str, ...] = ()
    crl_refresh_seconds: float = 60.0
    user_cache_seconds: float = 10.0
    trusted_dn_header: str | None = None
    trusted_front_ends: tuple[str, ...] = ("127.0.0.1", "::1")
    max_body: int = 64 * 1024 * 1024
    allow_http: bool = False
    name: str | None = None
    advertise_url: str | None = None
    failover_seconds: float = 30.0
    poll_seconds: float = 0.1
    checkpoint_dir: str | None = None
    checkpoint_seconds: float = 3600.0
    checkpoint_max_backlog: int = 50_000
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    catalogs: tuple[CatalogConfig, ...] = ()
    detox: DetoxConfig = field(default_factory=DetoxConfig)
    fileops: FileOpsConfig = field(default_factory=FileOpsConfig)
    consistency: ConsistencyConfig = field(default_factory=ConsistencyConfig)
    dealer: DealerConfig = field(default_factory=DealerConfig)
    userdata: UserDataOptions = field(default_factory=UserDataOptions)

    @property
    def uses_tls(self) -> bool:
        return self.tls_cert is not None

    @property
    def server_name(self) -> str:
        return self.name or f"{self.host}:{self.port}"

    @property
    def server_url(self) -> str:
        scheme = "https" if self.uses_tls else "http"
        return (self.advertise_url or f"{scheme}://{self.host}:{self.port}").rstrip("/")

    def with_overrides(self, **values: Any) -> ServerConfig:
        """A copy with the given values, ignoring those that are None (flags not given)."""
        return replace(self, **{k: v for k, v in values.items() if v is not None})

    def check(self) -> ServerConfig:
        """Raise ConfigurationError for an unsafe or incomplete configuration."""
        if not (self.failover_seconds > 0 and 0 < self.poll_seconds <= self.failover_seconds):
            raise ConfigurationError(
                "failover_seconds must be positive and poll_seconds between 0 and it"
            )
        if self.uses_tls:
            if not self.tls_key:
                raise ConfigurationError("tls_cert is set but tls_key is not")
            return self
        if not self.allow_http:
            raise ConfigurationError(
                "no TLS certificate configured (--tls-cert/--tls-key); plain HTTP needs "
                "--allow-http and a loopback --host"
            )
        if not _is_loopback(self.host):
            raise ConfigurationError(
                f"plain HTTP is only served on a loopback address, not on {self.host!r}"
            )
        return self


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_TABLES = frozenset(
    {"scheduler", "catalogs", "detox", "fileops", "consistency", "dealer", "userdata"}
)
"""Fields of ServerConfig read from tables of their own, not from ``[server]``."""


def load_config(path: Path | None) -> ServerConfig:
    """The configuration in ``path``, or the defaults: ``[server]``, ``[scheduler]``,
    ``[catalogs]``, ``[detox]``, the file-operation tables (``[fileops]``, ``[storage.SITE]``,
    ``[fts3]``) and ``[consistency]``. Relative paths start at the file's directory."""
    if path is None:
        return ServerConfig()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"{path}: {exc}") from exc
    section = data.get("server", {})
    known = {f.name for f in fields(ServerConfig)} - _TABLES
    unknown = sorted(set(section) - known)
    if unknown:
        raise ConfigurationError(f"{path}: unknown keys in [server]: {', '.join(unknown)}")
    for key, what in (("trusted_front_ends", "addresses"), ("crl_files", "file paths")):
        if key in section:
            values = section[key]
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise ConfigurationError(
                    f"{path}: [server] {key} must be a list of {what}, not {values!r}"
                )
            section = {**section, key: tuple(values)}
    scheduler = SchedulerConfig.from_mapping(
        data.get("scheduler", {}), base=path.parent, where=str(path)
    )
    catalogs = _catalogs(data.get("catalogs", {}), path.parent, str(path))
    try:
        detox = DetoxConfig.from_table(data.get("detox", {}), base_dir=path.parent)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{path}: {exc}") from exc
    fileops = fileops_config_from(data, where=str(path), base=path.parent)
    consistency = ConsistencyConfig.from_table(
        data.get("consistency", {}), where=f"{path}: [consistency]"
    )
    dealer = _dealer(data.get("dealer", {}), path)
    userdata = userdata_options_from(data.get("userdata", {}), where=str(path))
    try:
        return ServerConfig(
            **section,
            scheduler=scheduler,
            catalogs=catalogs,
            detox=detox,
            fileops=fileops,
            consistency=consistency,
            dealer=dealer,
            userdata=userdata,
        )
    except TypeError as exc:
        raise ConfigurationError(f"{path}: {exc}") from exc


def _dealer(table: Any, path: Path) -> DealerConfig:
    """``[dealer]``: ``config``, the path of the Dealer's JSON configuration."""
    if not isinstance(table, Mapping) or set(table) - {"config"}:
        raise ConfigurationError(f'{path}: [dealer] takes one key, config = "FILE.json"')
    if "config" not in table:
        return DealerConfig()
    return load_dealer_config(path.parent / str(table["config"]))
