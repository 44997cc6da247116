"""Client credentials by the grid conventions.

- ``X509_USER_PROXY``: a proxy file holding the proxy certificate, its key and the chain;
- else ``X509_USER_CERT`` and ``X509_USER_KEY`` (default ``~/.globus/usercert.pem`` and
  ``~/.globus/userkey.pem`` when both exist);
- ``X509_CERT_DIR``: a directory of CA certificates to verify the server (default
  ``/etc/grid-security/certificates`` when it exists, else the system CAs).
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dynamo.errors import ConfigurationError

__all__ = ["Credentials", "credentials_from_env"]

_GRID_CA_DIR = Path("/etc/grid-security/certificates")


@dataclass(frozen=True, slots=True)
class Credentials:
    """Where the client certificate, its key and the trusted CAs are."""

    cert: Path | None = None
    key: Path | None = None
    ca_dir: Path | None = None
    ca_file: Path | None = None

    def ssl_context(self) -> ssl.SSLContext:
        """A client TLS context presenting the certificate (if any) and trusting the CAs."""
        context = ssl.create_default_context(
            cafile=str(self.ca_file) if self.ca_file else None,
            capath=str(self.ca_dir) if self.ca_dir else None,
        )
        if self.cert is not None:
            try:
                context.load_cert_chain(str(self.cert), str(self.key) if self.key else None)
            except (OSError, ssl.SSLError) as exc:
                raise ConfigurationError(
                    f"cannot use the client certificate {self.cert}: {exc}"
                ) from exc
        return context


def credentials_from_env(env: Mapping[str, str] | None = None) -> Credentials:
    """The credentials named by the environment (see the module docstring)."""
    env = os.environ if env is None else env
    ca_dir = Path(env["X509_CERT_DIR"]) if env.get("X509_CERT_DIR") else None
    if ca_dir is None and _GRID_CA_DIR.is_dir():
        ca_dir = _GRID_CA_DIR
    proxy = env.get("X509_USER_PROXY")
    if proxy:
        return Credentials(cert=_existing(proxy, "X509_USER_PROXY"), ca_dir=ca_dir)
    cert, key = env.get("X509_USER_CERT"), env.get("X509_USER_KEY")
    if cert or key:
        if not (cert and key):
            raise ConfigurationError("set both X509_USER_CERT and X509_USER_KEY, or neither")
        return Credentials(
            cert=_existing(cert, "X509_USER_CERT"),
            key=_existing(key, "X509_USER_KEY"),
            ca_dir=ca_dir,
        )
    globus = Path(env.get("HOME", "~")).expanduser() / ".globus"
    if (globus / "usercert.pem").is_file() and (globus / "userkey.pem").is_file():
        return Credentials(cert=globus / "usercert.pem", key=globus / "userkey.pem", ca_dir=ca_dir)
    return Credentials(ca_dir=ca_dir)


def _existing(path: str, variable: str) -> Path:
    found = Path(path).expanduser()
    if not found.is_file():
        raise ConfigurationError(f"{variable} names {path}, which is not a file")
    return found
