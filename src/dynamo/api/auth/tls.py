"""TLS for uvicorn with client certificates: the server's SSL context and a protocol class that
hands the verified client chain to the application.

uvicorn (0.54) does not pass the client certificate to the app. :class:`TlsH11Protocol`
subclasses its h11 protocol: when a TLS connection is made it reads the verified peer chain
once and wraps the app so that every request of the connection carries the ASGI TLS extension::

    scope["extensions"]["tls"] = {
        "client_cert_chain": [pem, ...],   # leaf first; [] without a client certificate
        "client_cert_name": "CN=...,DC=ch",  # RFC 4514 subject of the leaf, or None
        "client_cert_error": None, "server_cert": None, "tls_version": 0x0304,
        "cipher_suite": None,
    }

:func:`server_ssl_context` asks for a client certificate without requiring one
(``CERT_OPTIONAL``: no certificate means anonymous), trusts the CA certificates of ``ca_dir``
(hashed names, as in ``/etc/grid-security/certificates``) and accepts RFC 3820 proxies
(``X509_V_FLAG_ALLOW_PROXY_CERTS``). A certificate that does not verify fails the handshake.
CRLs (``<hash>.r0`` in ``ca_dir``) are checked after the handshake, on the whole chain, by
:class:`~dynamo.api.auth.revocation.Revocations` in the X509 authenticator.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any, Final

import uvicorn
from cryptography import x509
from uvicorn.protocols.http.h11_impl import H11Protocol

from dynamo.errors import ConfigurationError
from dynamo.server.config import ServerConfig

__all__ = [
    "ALLOW_PROXY_CERTS",
    "TlsH11Protocol",
    "peer_chain",
    "server_ssl_context",
    "tls_extension",
    "uvicorn_config",
]

ALLOW_PROXY_CERTS: Final = 0x40
"""OpenSSL's X509_V_FLAG_ALLOW_PROXY_CERTS (not exported by Python's ssl module)."""

_TLS_VERSIONS: Final = {"TLSv1.2": 0x0303, "TLSv1.3": 0x0304}

ASGIApp = Any  # uvicorn's ASGI3Application; kept loose to avoid private uvicorn types.


def server_ssl_context(cert: str, key: str | None, ca_dir: str | None) -> ssl.SSLContext:
    """A server context presenting ``cert``/``key``, optionally verifying client certificates
    (and proxies) against the CAs of ``ca_dir`` (the system CAs when None)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    context.verify_mode = ssl.CERT_OPTIONAL
    if ca_dir:
        context.load_verify_locations(capath=ca_dir)
    else:
        context.load_default_certs(ssl.Purpose.CLIENT_AUTH)
    context.verify_flags |= ssl.VerifyFlags(ALLOW_PROXY_CERTS)
    return context


def peer_chain(ssl_object: ssl.SSLObject) -> list[bytes]:
    """The verified client chain (DER, leaf first); [] without a client certificate.

    Python 3.13 has ``get_verified_chain``; 3.11 has it on the private ``_sslobj``; failing
    both, the leaf alone (then a proxy's owner is found by stripping its proxy components).
    """
    leaf = ssl_object.getpeercert(binary_form=True)
    if not leaf:
        return []
    public = getattr(ssl_object, "get_verified_chain", None)
    if public is not None:
        return [bytes(der) for der in public()]
    private = getattr(getattr(ssl_object, "_sslobj", None), "get_verified_chain", None)
    if private is not None:
        chain = private() or []
        return [bytes(cert.public_bytes(ssl._ssl.ENCODING_DER)) for cert in chain]  # type: ignore[attr-defined]
    return [leaf]


def tls_extension(ssl_object: ssl.SSLObject) -> dict[str, Any]:
    """The ASGI TLS extension of a connection (see the module docstring)."""
    chain = peer_chain(ssl_object)
    name = None
    if chain:
        name = x509.load_der_x509_certificate(chain[0]).subject.rfc4514_string()
    return {
        "server_cert": None,
        "client_cert_chain": [ssl.DER_cert_to_PEM_cert(der) for der in chain],
        "client_cert_name": name,
        "client_cert_error": None,
        "tls_version": _TLS_VERSIONS.get(ssl_object.version() or ""),
        "cipher_suite": None,
    }


def _with_tls(app: ASGIApp, extension: dict[str, Any]) -> ASGIApp:
    async def with_tls(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scope["extensions"] = {**scope.get("extensions", {}), "tls": extension}
        await app(scope, receive, send)

    return with_tls


class TlsH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, plus the ASGI TLS extension on every request of a TLS connection."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        if isinstance(ssl_object, ssl.SSLObject):
            self.app = _with_tls(self.config.loaded_app, tls_extension(ssl_object))


def _http_protocol() -> type[asyncio.Protocol]:
    """The httptools parser (C, ~2x faster per request) when installed, else h11 (Python)."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:
        return TlsH11Protocol

    class TlsHttpToolsProtocol(HttpToolsProtocol):
        """uvicorn's httptools protocol, plus the ASGI TLS extension (as TlsH11Protocol)."""

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            ssl_object = transport.get_extra_info("ssl_object")
            if isinstance(ssl_object, ssl.SSLObject):
                self.app = _with_tls(self.config.loaded_app, tls_extension(ssl_object))

    return TlsHttpToolsProtocol


def _event_loop() -> str:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio"
    return "uvloop"


def uvicorn_config(app: ASGIApp, settings: ServerConfig, **options: Any) -> uvicorn.Config:
    """A uvicorn configuration serving ``app`` as ``settings`` say: TLS with client
    certificates when a certificate is configured, else plain HTTP. ``options`` go to
    uvicorn.Config (log_level, ...). ConfigurationError if the certificate, key or CA
    directory cannot be used."""
    tls: dict[str, Any] = {}
    if settings.uses_tls:
        assert settings.tls_cert is not None
        try:
            context = server_ssl_context(settings.tls_cert, settings.tls_key, settings.ca_dir)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigurationError(
                f"cannot set up TLS (--tls-cert {settings.tls_cert}, --tls-key "
                f"{settings.tls_key}, --ca-dir {settings.ca_dir}): {exc}"
            ) from exc
        tls["ssl_context_factory"] = lambda _config, _default: context
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        http=_http_protocol(),
        loop=_event_loop(),
        **tls,
        **options,
    )
