"""DNs in the slash form, the comma form normalised, and the owner of a proxy chain."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

import pki
from dynamo.api.auth import InvalidDnError, dn_of_name, normalize_dn, owner_dn
from dynamo.api.auth.dn import is_proxy, owner_dn_of_pem_chain, strip_proxy_components

ALICE = pki.user_dn("alice", 100)


@pytest.fixture(scope="module")
def grid(tmp_path_factory: pytest.TempPathFactory) -> pki.Pki:
    return pki.build_pki(tmp_path_factory.mktemp("pki"))


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(Encoding.PEM).decode()


def test_a_certificate_subject_reads_in_the_grid_slash_form(grid: pki.Pki) -> None:
    assert dn_of_name(grid.users["alice"].certificate.subject) == ALICE


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (ALICE, ALICE),
        ("CN=Alice Tester,CN=100,CN=alice,OU=Users,OU=Organic Units,DC=cern,DC=ch", ALICE),
        ("  /dc=ch/dc=cern/ou=Users/cn=x  ", "/DC=ch/DC=cern/OU=Users/CN=x"),
        ("/DC=ch/DC=cern/CN=http/host.cern.ch", "/DC=ch/DC=cern/CN=http/host.cern.ch"),
        ("/O=GRID/CN=x/Email=x@y.ch", "/O=GRID/CN=x/emailAddress=x@y.ch"),
        ("emailAddress=x@y.ch,CN=x,O=GRID", "/O=GRID/CN=x/emailAddress=x@y.ch"),
        (r"CN=Doe\, John,O=GRID", "/O=GRID/CN=Doe, John"),
    ],
)
def test_a_dn_in_either_form_normalises_to_the_slash_form(given: str, expected: str) -> None:
    assert normalize_dn(given) == expected


@pytest.mark.parametrize("given", ["", "   ", "/no-equals-sign", "not a dn at all"])
def test_text_that_is_not_a_dn_is_refused(given: str) -> None:
    with pytest.raises(InvalidDnError):
        normalize_dn(given)


def test_the_owner_of_a_proxy_chain_is_its_end_entity_certificate(grid: pki.Pki) -> None:
    proxy, user = grid.proxies["alice"].certificate, grid.users["alice"].certificate
    assert is_proxy(proxy)
    assert not is_proxy(user)
    assert owner_dn([proxy, user, grid.ca.certificate]) == ALICE


def test_a_lone_proxy_names_its_owner_once_the_proxy_components_are_stripped(
    grid: pki.Pki,
) -> None:
    assert owner_dn([grid.proxies["alice"].certificate]) == ALICE


def test_a_plain_user_certificate_is_its_own_owner(grid: pki.Pki) -> None:
    assert owner_dn([grid.users["bob"].certificate]) == grid.users["bob"].dn


def test_the_owner_of_a_pem_chain_is_read_once_and_remembered(grid: pki.Pki) -> None:
    chain = (_pem(grid.proxies["carol"].certificate), _pem(grid.users["carol"].certificate))
    before = owner_dn_of_pem_chain.cache_info().hits
    assert owner_dn_of_pem_chain(chain) == grid.users["carol"].dn
    assert owner_dn_of_pem_chain(chain) == grid.users["carol"].dn
    assert owner_dn_of_pem_chain.cache_info().hits == before + 1


@pytest.mark.parametrize(
    ("dn", "numeric", "expected"),
    [
        (f"{ALICE}/CN=proxy", False, ALICE),
        (f"{ALICE}/CN=limited proxy/CN=proxy", False, ALICE),
        (f"{ALICE}/CN=12345", False, f"{ALICE}/CN=12345"),
        (f"{ALICE}/CN=12345/CN=678", True, ALICE),
        ("/CN=proxy", False, "/CN=proxy"),
    ],
)
def test_proxy_components_are_stripped_from_the_end_only(
    dn: str, numeric: bool, expected: str
) -> None:
    assert strip_proxy_components(dn, numeric=numeric) == expected


def test_the_empty_chain_has_no_owner() -> None:
    with pytest.raises(InvalidDnError):
        owner_dn([])


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl binary")
def test_the_test_ca_directory_uses_the_hash_openssl_computes(grid: pki.Pki) -> None:
    ca_pem = grid.root / "ca.pem"
    found = subprocess.run(
        ["openssl", "x509", "-hash", "-noout", "-in", str(ca_pem)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert found == pki.subject_hash(grid.ca.certificate.subject)
    assert (grid.ca_dir / f"{found}.0").read_bytes() == ca_pem.read_bytes()


def test_the_pki_writes_a_proxy_file_with_cert_key_and_owner_cert(grid: pki.Pki) -> None:
    text = Path(grid.proxies["alice"].cert_path).read_text()
    assert text.count("BEGIN CERTIFICATE") == 2
    assert "PRIVATE KEY" in text
