"""Revocations: the CA's CRLs (``<hash>.r0`` of the CA directory, or configured files) refuse a
revoked user certificate and every proxy made from it; forged CRLs are ignored; a CRL written
later is read after the refresh interval."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

import pki
from dynamo.api.auth import CertificateRevokedError, Revocations


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def grid(tmp_path: Path) -> pki.Pki:
    return pki.build_pki(tmp_path / "pki")


def _pem(*identities: pki.Identity) -> tuple[str, ...]:
    return tuple(
        identity.certificate.public_bytes(serialization.Encoding.PEM).decode()
        for identity in identities
    )


def user_chain(grid: pki.Pki, name: str) -> tuple[str, ...]:
    return _pem(grid.users[name], grid.ca)


def proxy_chain(grid: pki.Pki, name: str) -> tuple[str, ...]:
    return _pem(grid.proxies[name], grid.users[name], grid.ca)


def test_without_a_crl_nothing_is_revoked(grid: pki.Pki) -> None:
    revocations = Revocations(grid.ca_dir)
    assert revocations.count == 0
    revocations.check(user_chain(grid, "bob"))
    revocations.check(proxy_chain(grid, "bob"))


def test_a_revoked_user_and_their_proxy_are_refused(grid: pki.Pki) -> None:
    pki.write_crl(grid, (grid.users["bob"],))
    revocations = Revocations(grid.ca_dir)
    assert revocations.count == 1
    for chain in (user_chain(grid, "bob"), proxy_chain(grid, "bob")):
        with pytest.raises(CertificateRevokedError, match=r"CN=bob.*serial 11.*revoked"):
            revocations.check(chain)
    revocations.check(user_chain(grid, "alice"))
    revocations.check(proxy_chain(grid, "alice"))


def test_a_crl_not_signed_by_the_ca_is_ignored(grid: pki.Pki, tmp_path: Path) -> None:
    forger = pki.build_pki(tmp_path / "other", users=("mallory",)).ca
    pki.write_crl(grid, (grid.users["alice"],), signer=forger)
    revocations = Revocations(grid.ca_dir)
    revocations.check(user_chain(grid, "alice"))
    revocations.check(proxy_chain(grid, "alice"))


def test_a_configured_der_file_and_an_expired_crl_still_revoke(
    grid: pki.Pki, tmp_path: Path
) -> None:
    expired = dt.datetime(2021, 1, 1, tzinfo=dt.UTC)
    path = pki.write_crl(
        grid, (grid.users["carol"],), tmp_path / "extra.crl", next_update=expired, pem=False
    )
    revocations = Revocations(None, [path])
    with pytest.raises(CertificateRevokedError):
        revocations.check(proxy_chain(grid, "carol"))


def test_a_new_crl_is_read_after_the_refresh_interval(grid: pki.Pki) -> None:
    clock = Clock()
    revocations = Revocations(grid.ca_dir, refresh_seconds=30.0, clock=clock)
    revocations.check(proxy_chain(grid, "alice"))
    pki.write_crl(grid, (grid.users["alice"],))
    clock.now += 10.0
    revocations.check(proxy_chain(grid, "alice"))  # cached verdict, files not looked at yet
    clock.now += 30.0
    with pytest.raises(CertificateRevokedError):
        revocations.check(proxy_chain(grid, "alice"))
    pki.write_crl(grid, ())
    (grid.ca_dir / "ignored.txt").write_text("not a CRL")
    clock.now += 30.0
    revocations.check(proxy_chain(grid, "alice"))


def test_an_unreadable_crl_file_is_skipped(grid: pki.Pki) -> None:
    (grid.ca_dir / "deadbeef.r0").write_bytes(b"garbage")
    pki.write_crl(grid, (grid.users["bob"],))
    revocations = Revocations(grid.ca_dir)
    assert revocations.count == 1
    with pytest.raises(CertificateRevokedError):
        revocations.check(user_chain(grid, "bob"))
