"""Authenticators: the caller's DN from the TLS connection, or from a trusted front end's header.

Both map the DN through a :class:`~dynamo.api.auth.directory.UserDirectory` to a Principal. An
unknown DN is authenticated without grants (403 on protected routes); no DN is ANONYMOUS (401 on
protected routes, public reads allowed).

- :class:`X509Authenticator` reads the verified client certificate chain that
  :class:`~dynamo.api.auth.tls.TlsH11Protocol` puts into ``scope["extensions"]["tls"]`` (the ASGI
  TLS extension); for a proxy the identity is its owner's DN (:func:`~dynamo.api.auth.dn.owner_dn`).
- :class:`TrustedHeaderAuthenticator` believes a header set by a front end that terminates TLS.
  Use it only when clients cannot reach the server except through that front end, and the
  front end removes the header from every incoming request before setting it: whoever can
  send the header can claim any DN.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any, Final

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from dynamo.api.auth.directory import UserDirectory
from dynamo.api.auth.dn import normalize_dn, owner_dn_of_pem_chain, strip_proxy_components
from dynamo.api.auth.revocation import CertificateRevokedError, Revocations
from dynamo.api.errors import error_response
from dynamo.api.security import ANONYMOUS, Authenticator, Principal, UnauthenticatedError

__all__ = [
    "RevocationGate",
    "TrustedHeaderAuthenticator",
    "X509Authenticator",
    "build_authenticator",
    "client_chain",
    "client_dn",
    "revocations_of",
]

log = logging.getLogger(__name__)

LOOPBACK: Final = ("127.0.0.1", "::1")
"""Where a trusted front end runs by default: on the same host."""


def client_chain(scope: Mapping[str, Any]) -> tuple[str, ...]:
    """The verified client certificate chain (PEM, leaf first) in ``scope``'s TLS extension;
    () without one."""
    tls = scope.get("extensions", {}).get("tls")
    if not tls:
        return ()
    return tuple(tls.get("client_cert_chain") or ())


def client_dn(scope: Mapping[str, Any]) -> str | None:
    """The owner DN of the client certificate chain in ``scope``'s TLS extension, if any."""
    chain = client_chain(scope)
    return owner_dn_of_pem_chain(chain) if chain else None


class X509Authenticator:
    """The caller is the owner of the verified client certificate of the TLS connection.

    With ``revocations``, a chain holding a revoked certificate (the user's, behind a proxy
    too) is refused: 401 ``certificate_revoked``; on the open reads, which never ask who the
    caller is, :class:`RevocationGate` refuses it.
    """

    def __init__(self, directory: UserDirectory, revocations: Revocations | None = None) -> None:
        self.directory = directory
        self.revocations = revocations

    async def principal(self, request: Request) -> Principal:
        chain = client_chain(request.scope)
        if not chain:
            return ANONYMOUS
        if self.revocations is not None:
            _check_logged(self.revocations, chain, request.scope)
        return self.directory.principal_for(owner_dn_of_pem_chain(chain))


class TrustedHeaderAuthenticator:
    """The caller is the DN in header ``header`` (slash or comma form), set by a trusted front end.

    Legacy proxy components (``/CN=proxy``, ``/CN=limited proxy``) are stripped from the header's
    DN; a front end that accepts RFC 3820 proxies must send the owner's DN. Without the header,
    ``fallback`` decides (default: anonymous). A malformed DN is a 400 (InvalidDnError). The
    header is believed only from the addresses in ``front_ends`` (default: loopback, a front end
    on the same host); from anywhere else it is a 401, and the attempt is logged.
    """

    def __init__(
        self,
        directory: UserDirectory,
        header: str,
        *,
        fallback: Authenticator | None = None,
        front_ends: Iterable[str] = LOOPBACK,
    ) -> None:
        if not header.strip():
            raise ValueError("the trusted DN header needs a name")
        self.directory = directory
        self.header = header.strip()
        self.fallback = fallback
        self.front_ends = frozenset(front_ends)
        if not self.front_ends:
            raise ValueError("the trusted DN header needs the front end's address")

    async def principal(self, request: Request) -> Principal:
        value = request.headers.get(self.header)
        if not value:
            if self.fallback is None:
                return ANONYMOUS
            return await self.fallback.principal(request)
        peer = request.client.host if request.client is not None else "unknown"
        if peer not in self.front_ends:
            log.warning("header %s sent by %s, which is not a trusted front end", self.header, peer)
            raise UnauthenticatedError(
                f"header {self.header} is only accepted from the front end, not from {peer}"
            )
        return self.directory.principal_for(strip_proxy_components(normalize_dn(value)))


def build_authenticator(
    directory: UserDirectory,
    *,
    trusted_dn_header: str | None = None,
    front_ends: Iterable[str] = LOOPBACK,
    revocations: Revocations | None = None,
) -> Authenticator:
    """The server's authenticator: the TLS client certificate (checked against
    ``revocations``), and, only when ``trusted_dn_header`` is configured, that header first
    (from ``front_ends`` only; the front end checks revocation)."""
    x509 = X509Authenticator(directory, revocations)
    if not trusted_dn_header:
        return x509
    return TrustedHeaderAuthenticator(
        directory, trusted_dn_header, fallback=x509, front_ends=front_ends
    )


def revocations_of(authenticator: Authenticator) -> Revocations | None:
    """The CRLs ``authenticator`` checks client chains against, if any."""
    if isinstance(authenticator, X509Authenticator):
        return authenticator.revocations
    if isinstance(authenticator, TrustedHeaderAuthenticator) and authenticator.fallback:
        return revocations_of(authenticator.fallback)
    return None


class RevocationGate:
    """ASGI middleware: a request whose TLS client chain holds a revoked certificate is
    refused (401 ``certificate_revoked``) whatever its route, the open reads included, which
    anyone may make anonymously but never with a revoked credential. Requests without a
    client chain pass untouched."""

    def __init__(self, app: ASGIApp, revocations: Revocations) -> None:
        self.app = app
        self.revocations = revocations

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        chain = client_chain(scope) if scope["type"] == "http" else ()
        if chain:
            try:
                _check_logged(self.revocations, chain, scope)
            except CertificateRevokedError as exc:
                response = error_response(401, exc.code, str(exc))
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _check_logged(revocations: Revocations, chain: tuple[str, ...], scope: Scope) -> None:
    """``revocations.check(chain)``, logging the peer of a refused chain."""
    try:
        revocations.check(chain)
    except CertificateRevokedError as exc:
        client = scope.get("client")
        log.warning("refused a request from %s: %s", client[0] if client else "unknown", exc)
        raise
