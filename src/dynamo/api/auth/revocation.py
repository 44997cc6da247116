"""Certificate revocation: the CAs' CRLs, checked against every verified client chain.

The grid keeps each CA's CRL next to its certificate in the CA directory
(``/etc/grid-security/certificates``, ``X509_CERT_DIR``): ``<hash>.r0`` (``.r1``... for more),
refreshed by ``fetch-crl``. :class:`Revocations` reads those files, and any CRL file configured
explicitly (PEM, possibly several CRLs, or DER), and answers whether a verified chain contains a
revoked certificate.

The check runs after the handshake (in :class:`~dynamo.api.auth.authenticators.X509Authenticator`),
not in OpenSSL, for three reasons:

- a chain with a proxy is checked whole: the user certificate behind an RFC 3820 proxy is
  refused when its CA revoked it (OpenSSL's CRL checking of proxy chains would also demand a
  CRL from the user, who issues none);
- a CA that publishes no CRL does not lock its users out (its certificates are not checked);
- a new CRL written by ``fetch-crl`` is read without restarting the server: the files are
  looked at again at most every ``refresh_seconds`` and reloaded when one changed.

A CRL is applied to a certificate only when the CRL's issuer is the certificate's issuer and
its signature verifies with the issuer's key from the chain (a CRL that does not verify is
ignored, with a warning). An expired CRL is still applied (revoked stays revoked), with a
warning. Results are cached per chain until the CRLs change.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from dynamo.api.auth.dn import dn_of_name
from dynamo.api.security import UnauthenticatedError

__all__ = ["CertificateRevokedError", "Revocations", "crl_paths"]

log = logging.getLogger(__name__)

_PEM_BEGIN: Final = b"-----BEGIN X509 CRL-----"
_CACHE_SIZE: Final = 4096
_SHA256: Final = hashes.SHA256()

_Fingerprint = tuple[tuple[str, int, int], ...]


class CertificateRevokedError(UnauthenticatedError):
    """A certificate of the client's chain is on its CA's CRL (HTTP 401)."""

    code = "certificate_revoked"


def crl_paths(ca_dir: Path | None, files: Iterable[Path] = ()) -> list[Path]:
    """The CRL files: ``<hash>.r<N>`` in ``ca_dir`` (sorted), then ``files``."""
    found = sorted(ca_dir.glob("*.r[0-9]*")) if ca_dir is not None and ca_dir.is_dir() else []
    return [*found, *files]


def _read_crls(path: Path) -> list[x509.CertificateRevocationList]:
    data = path.read_bytes()
    if _PEM_BEGIN not in data:
        return [x509.load_der_x509_crl(data)]
    return [
        x509.load_pem_x509_crl(_PEM_BEGIN + block)
        for block in data.split(_PEM_BEGIN)[1:]
        if block.strip()
    ]


class Revocations:
    """The CRLs of ``ca_dir`` (``*.r0``...) and of ``files``; see the module docstring.

    ``clock`` is monotonic seconds (when to look at the files again).
    """

    def __init__(
        self,
        ca_dir: Path | None,
        files: Sequence[Path] = (),
        *,
        refresh_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ca_dir = ca_dir
        self.files = tuple(files)
        self.refresh_seconds = refresh_seconds
        self._clock = clock
        self._next_look = float("-inf")
        self._fingerprint: _Fingerprint = ()
        self._by_issuer: dict[bytes, list[x509.CertificateRevocationList]] = {}
        self._verdicts: dict[tuple[str, ...], str | None] = {}
        self._warned: set[bytes] = set()
        self.refresh(force=True)

    @property
    def count(self) -> int:
        """How many CRLs are loaded."""
        return sum(len(crls) for crls in self._by_issuer.values())

    def refresh(self, *, force: bool = False) -> bool:
        """Reload the CRLs if a file was added, removed or changed (looked at most every
        ``refresh_seconds`` unless ``force``); whether they were reloaded."""
        if not force and self._clock() < self._next_look:
            return False
        self._next_look = self._clock() + self.refresh_seconds
        paths = crl_paths(self.ca_dir, self.files)
        fingerprint = tuple(_stat(path) for path in paths)
        if fingerprint == self._fingerprint and not force:
            return False
        by_issuer: dict[bytes, list[x509.CertificateRevocationList]] = {}
        for path in paths:
            try:
                crls = _read_crls(path)
            except (OSError, ValueError) as exc:
                log.warning("cannot read the CRL file %s: %s", path, exc)
                continue
            for crl in crls:
                by_issuer.setdefault(crl.issuer.public_bytes(), []).append(crl)
                _warn_if_expired(crl, path)
        self._by_issuer, self._fingerprint, self._verdicts = by_issuer, fingerprint, {}
        log.info("loaded %d CRLs from %d files", self.count, len(paths))
        return True

    def check(self, chain: tuple[str, ...]) -> None:
        """CertificateRevokedError if a certificate of ``chain`` (verified, PEM, leaf first)
        is revoked. The verdict is cached per chain until the CRLs change."""
        self.refresh()
        if chain not in self._verdicts:
            if len(self._verdicts) >= _CACHE_SIZE:
                self._verdicts.clear()
            certs = [x509.load_pem_x509_certificate(pem.encode("ascii")) for pem in chain]
            self._verdicts[chain] = self._revoked(certs)
        reason = self._verdicts[chain]
        if reason is not None:
            raise CertificateRevokedError(reason)

    def _revoked(self, chain: Sequence[x509.Certificate]) -> str | None:
        for position, cert in enumerate(chain):
            issuer = chain[position + 1] if position + 1 < len(chain) else None
            if issuer is None and cert.subject == cert.issuer:
                continue  # a self-signed root: trusted as configured
            for crl in self._by_issuer.get(cert.issuer.public_bytes(), ()):
                if issuer is not None and not self._signed_by(crl, issuer):
                    continue
                if crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None:
                    return (
                        f"certificate {dn_of_name(cert.subject)} (serial {cert.serial_number}) "
                        f"is revoked by its CA {dn_of_name(cert.issuer)}"
                    )
        return None

    def _signed_by(self, crl: x509.CertificateRevocationList, issuer: x509.Certificate) -> bool:
        public_key = issuer.public_key()
        try:
            valid = crl.is_signature_valid(public_key)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            valid = False
        if not valid and crl.fingerprint(_SHA256) not in self._warned:
            self._warned.add(crl.fingerprint(_SHA256))
            log.warning(
                "a CRL naming %s as issuer is not signed by it: ignored", dn_of_name(crl.issuer)
            )
        return valid


def _stat(path: Path) -> tuple[str, int, int]:
    try:
        stat = path.stat()
    except OSError:
        return (str(path), -1, -1)
    return (str(path), stat.st_mtime_ns, stat.st_size)


def _warn_if_expired(crl: x509.CertificateRevocationList, path: Path) -> None:
    next_update = crl.next_update_utc
    if next_update is not None and next_update.timestamp() < time.time():
        log.warning(
            "the CRL %s of %s expired on %s; still applied (is fetch-crl running?)",
            path,
            dn_of_name(crl.issuer),
            next_update.isoformat(),
        )
