"""Distinguished names in the grid slash form, and the owner of a (proxy) certificate chain.

The grid writes DNs as OpenSSL's one-line form, most significant component first::

    /DC=ch/DC=cern/OU=Organic Units/OU=Users/CN=jdoe/CN=123456/CN=John Doe

That is the form stored in the user directory and compared on every request. A DN arriving in
the RFC 2253/4514 comma form (``CN=John Doe,CN=123456,...,DC=ch``, least significant first, as
nginx's ``$ssl_client_s_dn`` gives it) is converted by :func:`normalize_dn`.

A proxy certificate (RFC 3820: it carries the critical ProxyCertInfo extension; or a legacy
Globus proxy whose last component is ``CN=proxy`` or ``CN=limited proxy``) is signed by its
owner's certificate and named after it plus one CN. :func:`owner_dn` walks a verified chain
from the leaf to the first certificate that is not a proxy: the end-entity certificate, whose DN
is the caller's identity.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Final

from cryptography import x509
from cryptography.x509.oid import NameOID

from dynamo.errors import DynamoError

__all__ = [
    "PROXY_CERT_INFO",
    "InvalidDnError",
    "dn_of_name",
    "is_proxy",
    "normalize_dn",
    "owner_dn",
    "owner_dn_of_pem_chain",
    "strip_proxy_components",
]

PROXY_CERT_INFO: Final = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.14")
"""The RFC 3820 ProxyCertInfo extension (id-pe-proxyCertInfo)."""

_LEGACY_PROXY_CNS: Final = frozenset({"proxy", "limited proxy"})

# OpenSSL's short names, as X509_NAME_oneline prints them.
_SHORT_NAMES: Final[dict[x509.ObjectIdentifier, str]] = {
    NameOID.COMMON_NAME: "CN",
    NameOID.COUNTRY_NAME: "C",
    NameOID.LOCALITY_NAME: "L",
    NameOID.STATE_OR_PROVINCE_NAME: "ST",
    NameOID.ORGANIZATION_NAME: "O",
    NameOID.ORGANIZATIONAL_UNIT_NAME: "OU",
    NameOID.DOMAIN_COMPONENT: "DC",
    NameOID.EMAIL_ADDRESS: "emailAddress",
    NameOID.USER_ID: "UID",
    NameOID.SERIAL_NUMBER: "serialNumber",
    NameOID.STREET_ADDRESS: "street",
    NameOID.TITLE: "title",
    NameOID.GIVEN_NAME: "GN",
    NameOID.SURNAME: "SN",
}
_OIDS_BY_NAME: Final[dict[str, x509.ObjectIdentifier]] = {
    **{short.lower(): oid for oid, short in _SHORT_NAMES.items()},
    "email": NameOID.EMAIL_ADDRESS,
    "e": NameOID.EMAIL_ADDRESS,
    "userid": NameOID.USER_ID,
}
# Names the comma-form parser does not know by default.
_COMMA_NAMES: Final[dict[str, x509.ObjectIdentifier]] = {
    "emailAddress": NameOID.EMAIL_ADDRESS,
    "Email": NameOID.EMAIL_ADDRESS,
    "E": NameOID.EMAIL_ADDRESS,
    "serialNumber": NameOID.SERIAL_NUMBER,
}
# A slash starts a new component only when a KEY= follows (values such as CN=host/x.ch contain /).
_SLASH_SPLIT: Final = re.compile(r"/(?=[A-Za-z][A-Za-z0-9.]*=)")


class InvalidDnError(DynamoError, ValueError):
    """A text that is not a distinguished name in the slash or the comma form."""

    code = "bad_request"


def dn_of_name(name: x509.Name) -> str:
    """The slash form of ``name`` (multi-valued components joined with ``+``)."""
    parts = []
    for rdn in name.rdns:
        values = (f"{_SHORT_NAMES.get(a.oid, a.oid.dotted_string)}={a.value!s}" for a in rdn)
        parts.append("+".join(values))
    return "".join("/" + part for part in parts)


def normalize_dn(text: str) -> str:
    """``text`` (slash form, or RFC 2253/4514 comma form) in the canonical slash form.

    Attribute names are canonicalised (``cn`` -> ``CN``, ``Email``/``E`` -> ``emailAddress``);
    values are kept as given. InvalidDnError for an empty or unparseable DN.
    """
    stripped = text.strip()
    if not stripped:
        raise InvalidDnError("a DN cannot be empty")
    if stripped.startswith("/"):
        return _normalize_slash_form(stripped)
    try:
        name = x509.Name.from_rfc4514_string(stripped, attr_name_overrides=_COMMA_NAMES)
    except ValueError as exc:
        raise InvalidDnError(f"not a DN: {text!r} ({exc})") from exc
    return dn_of_name(name)


def _normalize_slash_form(text: str) -> str:
    parts = []
    for component in _SLASH_SPLIT.split(text[1:]):
        key, sep, value = component.partition("=")
        if not sep or not key:
            raise InvalidDnError(f"not a DN: {text!r} (component {component!r} has no KEY=)")
        oid = _OIDS_BY_NAME.get(key.lower())
        parts.append(f"{_SHORT_NAMES[oid] if oid is not None else key}={value}")
    return "".join("/" + part for part in parts)


def is_proxy(cert: x509.Certificate) -> bool:
    """Whether ``cert`` is a proxy: RFC 3820 (ProxyCertInfo) or legacy (``CN=proxy`` ...)."""
    if any(extension.oid == PROXY_CERT_INFO for extension in cert.extensions):
        return True
    rdns = cert.subject.rdns
    if not rdns or len(rdns[-1]) != 1:
        return False
    (last,) = rdns[-1]
    return (
        last.oid == NameOID.COMMON_NAME
        and last.value in _LEGACY_PROXY_CNS
        and list(rdns[:-1]) == list(cert.issuer.rdns)
    )


def owner_dn(chain: Sequence[x509.Certificate]) -> str:
    """The DN of the end-entity certificate of ``chain`` (leaf first): the caller's identity.

    With the whole chain, that is the first certificate that is not a proxy. When only proxies
    are given (the leaf alone), the trailing proxy components of the last one's DN are stripped.
    """
    if not chain:
        raise InvalidDnError("an empty certificate chain has no owner")
    for cert in chain:
        if not is_proxy(cert):
            return dn_of_name(cert.subject)
    return strip_proxy_components(dn_of_name(chain[-1].subject), numeric=True)


def strip_proxy_components(dn: str, *, numeric: bool = False) -> str:
    """``dn`` without its trailing ``/CN=proxy`` and ``/CN=limited proxy`` components, and,
    when ``numeric``, without trailing all-digit CNs (RFC 3820 proxy names)."""
    while True:
        head, sep, last = dn.rpartition("/CN=")
        if not sep or not head:
            return dn
        if last in _LEGACY_PROXY_CNS or (numeric and last.isdigit()):
            dn = head
        else:
            return dn


@lru_cache(maxsize=4096)
def owner_dn_of_pem_chain(chain: tuple[str, ...]) -> str:
    """:func:`owner_dn` of a chain of PEM certificates (leaf first), cached: a connection's
    chain is parsed once, later requests on it cost a dict lookup."""
    try:
        certs = [x509.load_pem_x509_certificate(pem.encode("ascii")) for pem in chain]
    except ValueError as exc:
        raise InvalidDnError(f"cannot read the client certificate: {exc}") from exc
    return owner_dn(certs)
