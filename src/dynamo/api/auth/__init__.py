"""Authentication for the REST API: DNs, the user directory, authenticators, TLS for uvicorn.

- :mod:`.dn` -- DNs in the grid slash form; the owner of a proxy chain;
- :mod:`.directory` -- the :class:`UserDirectory` port (users by DN, grants), memory and SQL;
- :mod:`.authenticators` -- :class:`X509Authenticator`, :class:`TrustedHeaderAuthenticator`;
- :mod:`.revocation` -- :class:`Revocations`: the CAs' CRLs, checked on every client chain;
- :mod:`.tls` -- the server SSL context and the uvicorn protocol exposing the client chain.

The contract with the routes (Principal, Role, Target, ``require``) is :mod:`dynamo.api.security`.
"""

from dynamo.api.auth.authenticators import (
    TrustedHeaderAuthenticator,
    X509Authenticator,
    build_authenticator,
    client_dn,
)
from dynamo.api.auth.directory import (
    DEFAULT_TTL,
    InvalidUserError,
    MemoryUserDirectory,
    SqlUserDirectory,
    UnknownUserError,
    User,
    UserDirectory,
    UserExistsError,
)
from dynamo.api.auth.dn import InvalidDnError, dn_of_name, normalize_dn, owner_dn
from dynamo.api.auth.revocation import CertificateRevokedError, Revocations
from dynamo.api.auth.tls import TlsH11Protocol, server_ssl_context, uvicorn_config

__all__ = [
    "DEFAULT_TTL",
    "CertificateRevokedError",
    "InvalidDnError",
    "InvalidUserError",
    "MemoryUserDirectory",
    "Revocations",
    "SqlUserDirectory",
    "TlsH11Protocol",
    "TrustedHeaderAuthenticator",
    "UnknownUserError",
    "User",
    "UserDirectory",
    "UserExistsError",
    "X509Authenticator",
    "build_authenticator",
    "client_dn",
    "dn_of_name",
    "normalize_dn",
    "owner_dn",
    "server_ssl_context",
    "uvicorn_config",
]
