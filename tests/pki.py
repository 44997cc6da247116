"""A test PKI built with ``cryptography``: a CA, a host certificate, users and an RFC 3820 proxy.

``build_pki(root)`` writes, under ``root``::

    certificates/<hash>.0          the CA, in a hashed CA directory (as ``openssl rehash`` makes)
    ca.pem                         the CA certificate alone
    host/cert.pem, host/key.pem    CN=localhost, SAN DNS:localhost and IP:127.0.0.1
    users/<name>/cert.pem, key.pem  one per user, CERN-like DNs
    users/<name>/proxy.pem         an RFC 3820 proxy of the user: proxy cert, its key, user cert

``write_crl(grid, revoked)`` writes the CA's CRL revoking those certificates, by default as
``certificates/<hash>.r0`` (the CA directory convention ``fetch-crl`` follows).

Keys are EC P-256 (the whole PKI builds in a few milliseconds). The CA-directory hash is
OpenSSL's subject hash (``X509_NAME_hash_ex``: SHA-1 of the canonical DER name, first four
bytes little-endian), computed in Python by :func:`subject_hash`; a test checks it against
``openssl x509 -hash`` when the binary exists.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "CA_DN",
    "PROXY_CERT_INFO_DER",
    "Identity",
    "Pki",
    "build_pki",
    "subject_hash",
    "user_dn",
    "write_crl",
]

CA_DN = "/DC=ch/DC=cern/CN=Dynamo Test CA"
PROXY_CERT_INFO_DER = bytes.fromhex("300c300a06082b06010505071501")
"""ProxyCertInfo: no path length limit, policy id-ppl-inheritAll (1.3.6.1.5.5.7.21.1)."""

_PROXY_CERT_INFO_OID = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.14")
_EPOCH = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
_LATER = dt.datetime(2099, 1, 1, tzinfo=dt.UTC)
_ATTRIBUTES = {
    "DC": NameOID.DOMAIN_COMPONENT,
    "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "CN": NameOID.COMMON_NAME,
    "O": NameOID.ORGANIZATION_NAME,
}


def user_dn(name: str, number: int) -> str:
    """The CERN-style DN of a test user: ``/DC=ch/DC=cern/OU=Organic Units/OU=Users/CN=name/...``."""
    return (
        f"/DC=ch/DC=cern/OU=Organic Units/OU=Users/CN={name}/CN={number}/CN={name.title()} Tester"
    )


@dataclass(frozen=True, slots=True)
class Identity:
    """A certificate and its key, in memory and on disk (for a proxy, ``cert`` holds all three)."""

    dn: str
    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    cert_path: Path
    key_path: Path


@dataclass(frozen=True, slots=True)
class Pki:
    root: Path
    ca: Identity
    ca_dir: Path
    host: Identity
    users: dict[str, Identity]
    proxies: dict[str, Identity]


def _name(dn: str) -> x509.Name:
    parts = [part.split("=", 1) for part in dn.strip("/").split("/")]
    return x509.Name([x509.NameAttribute(_ATTRIBUTES[key], value) for key, value in parts])


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    serial: int,
    valid: tuple[dt.datetime, dt.datetime] = (_EPOCH, _LATER),
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(valid[0])
        .not_valid_after(valid[1])
    )


def _write(
    directory: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey, dn: str
) -> Identity:
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(_pem(cert))
    key_path.write_bytes(_key_pem(key))
    key_path.chmod(0o600)
    return Identity(dn, cert, key, cert_path, key_path)


def _ca(root: Path) -> Identity:
    key = _key()
    name = _name(CA_DN)
    cert = (
        _builder(name, name, key, 1)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return _write(root / "ca", cert, key, CA_DN)


def _usage(*, cert_sign: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=False,
        key_encipherment=not cert_sign,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _end_entity(
    ca: Identity,
    dn: str,
    serial: int,
    directory: Path,
    *,
    host: bool = False,
    valid: tuple[dt.datetime, dt.datetime] = (_EPOCH, _LATER),
) -> Identity:
    key = _key()
    builder = (
        _builder(_name(dn), ca.certificate.subject, key, serial, valid)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
        )
    )
    if host:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    else:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
    return _write(directory, builder.sign(ca.key, hashes.SHA256()), key, dn)


def user_valid_between(
    grid: Pki, name: str, not_before: dt.datetime, not_after: dt.datetime
) -> Identity:
    """A user certificate from the grid's CA valid only between the two dates (to test expired
    and not-yet-valid certificates)."""
    serial = 5000 + len(name) + int(not_before.timestamp()) % 1000
    directory = grid.root / "users" / f"{name}-{not_before:%Y%m%d}"
    return _end_entity(
        grid.ca, user_dn(name, 900), serial, directory, valid=(not_before, not_after)
    )


def _proxy(owner: Identity, serial: int) -> Identity:
    """An RFC 3820 proxy of ``owner``: its DN plus ``/CN=<serial>``, signed by the owner's key."""
    key = _key()
    dn = f"{owner.dn}/CN={serial}"
    cert = (
        _builder(_name(dn), owner.certificate.subject, key, serial)
        .add_extension(_usage(), critical=True)
        .add_extension(
            x509.UnrecognizedExtension(_PROXY_CERT_INFO_OID, PROXY_CERT_INFO_DER), critical=True
        )
        .sign(owner.key, hashes.SHA256())
    )
    path = owner.cert_path.parent / "proxy.pem"
    path.write_bytes(_pem(cert) + _key_pem(key) + _pem(owner.certificate))
    path.chmod(0o600)
    return Identity(dn, cert, key, path, path)


def write_crl(
    grid: Pki,
    revoked: tuple[Identity, ...] = (),
    path: Path | None = None,
    *,
    signer: Identity | None = None,
    next_update: dt.datetime = _LATER,
    pem: bool = True,
) -> Path:
    """A CRL of the grid's CA (or, to test forgeries, signed by ``signer`` under the CA's
    name) revoking ``revoked``; written to ``path`` (default ``<ca hash>.r0`` in the CA
    directory), PEM or DER."""
    ca = grid.ca
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.certificate.subject)
        .last_update(min(now, next_update) - dt.timedelta(days=1))
        .next_update(next_update)
    )
    for identity in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(identity.certificate.serial_number)
            .revocation_date(min(now, next_update) - dt.timedelta(days=1))
            .build()
        )
    crl = builder.sign((signer or ca).key, hashes.SHA256())
    if path is None:
        path = grid.ca_dir / f"{subject_hash(ca.certificate.subject)}.r0"
    encoding = serialization.Encoding.PEM if pem else serialization.Encoding.DER
    path.write_bytes(crl.public_bytes(encoding))
    return path


def subject_hash(name: x509.Name) -> str:
    """OpenSSL's subject hash of ``name`` (the ``<hash>`` of ``<hash>.0`` in a CA directory).

    Canonical form (OpenSSL ``x509_name_canon``): each RDN as a DER SET of SEQUENCE {OID,
    UTF8String}, string values with outer spaces stripped, inner runs of spaces collapsed and
    ASCII lowercased; the SETs concatenated without the outer SEQUENCE.
    """
    encoded = b"".join(
        _der(0x31, b"".join(_canonical_attribute(a) for a in rdn)) for rdn in name.rdns
    )
    return f"{int.from_bytes(hashlib.sha1(encoded).digest()[:4], 'little'):08x}"


def _canonical_attribute(attribute: x509.NameAttribute[str] | x509.NameAttribute[bytes]) -> bytes:
    value = attribute.value if isinstance(attribute.value, str) else attribute.value.decode()
    canonical = " ".join(value.split()).lower().encode("utf-8")
    return _der(0x30, _oid_der(attribute.oid) + _der(0x0C, canonical))


def _oid_der(oid: x509.ObjectIdentifier) -> bytes:
    numbers = [int(n) for n in oid.dotted_string.split(".")]
    body = bytes([40 * numbers[0] + numbers[1]])
    for number in numbers[2:]:
        chunk = [number & 0x7F]
        while number > 0x7F:
            number >>= 7
            chunk.append(0x80 | (number & 0x7F))
        body += bytes(reversed(chunk))
    return _der(0x06, body)


def _der(tag: int, body: bytes) -> bytes:
    length = len(body)
    if length < 0x80:
        return bytes([tag, length]) + body
    size = (length.bit_length() + 7) // 8
    return bytes([tag, 0x80 | size]) + length.to_bytes(size, "big") + body


def build_pki(root: Path, users: tuple[str, ...] = ("alice", "bob", "carol")) -> Pki:
    """Write the PKI under ``root`` (see the module docstring); proxies for every user."""
    ca = _ca(root)
    ca_dir = root / "certificates"
    ca_dir.mkdir(parents=True, exist_ok=True)
    (ca_dir / f"{subject_hash(ca.certificate.subject)}.0").write_bytes(_pem(ca.certificate))
    (root / "ca.pem").write_bytes(_pem(ca.certificate))
    host = _end_entity(ca, "/DC=ch/DC=cern/OU=computers/CN=localhost", 2, root / "host", host=True)
    identities = {
        name: _end_entity(ca, user_dn(name, 100 + i), 10 + i, root / "users" / name)
        for i, name in enumerate(users)
    }
    proxies = {
        name: _proxy(identity, 1000 + i) for i, (name, identity) in enumerate(identities.items())
    }
    return Pki(root, ca, ca_dir, host, identities, proxies)
