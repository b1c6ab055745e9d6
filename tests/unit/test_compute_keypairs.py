"""Key pair parsing without a database: fingerprints (against `ssh-keygen -E md5 -l`), the key
types accepted, generated keys and x509 certificates, names and create bodies."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from vistack.common.clock import utcnow
from vistack.common.errors import BadRequest
from vistack.compute.domain.keypairs import (
    Keypair,
    der_utf8_string,
    fingerprint,
    generate_key_pair,
    generate_x509_certificate,
    parse_create,
    validate_name,
    x509_fingerprint,
)

#: Keys made with OpenSSH 9.2's ssh-keygen, and what `ssh-keygen -E md5 -lf` printed for them.
VECTORS = {
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICYb/GV7Ldq/txWwJ0M8Kx/5tinbXZ/yQUMormG3RUMP "
    "vector@vistack": "fc:a1:d6:8e:60:ae:23:ec:75:16:71:b8:d9:82:20:c2",
    "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBFN1o9plhlqb+OFrqtf7"
    "SYTaIXolatN4ZckO2tYLT9JP1m03jTiDgRuJUR7Y8EBX60yv+S8s8zYtS7bxELlN/7M= vector@vistack": (
        "8c:f6:f4:84:8d:d5:15:bf:7c:27:09:7e:ad:82:e1:9a"
    ),
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQC8E57NKRqsUHpm1uNmkQoJMkA/yVW9q6Mwc8gF0bX+IMjTJxCq1AuIHG"
    "Lhk9WxJbAqNVVSVsfwsj4IXdfS2mKz/TM6cwkSHamztIxlG/kpNRwfLJhFTWFLCByHgXoTSmu64BNBMYXMfm9qhRZ65jZ"
    "ndV9I116Bjzje8wN/RxdtJw== vector@vistack": "4a:2b:36:51:42:a2:3c:a0:4b:0d:50:5a:01:1b:b2:1f",
}


def _ssh_string(data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + data


def dsa_public_key() -> str:
    """An `ssh-dss` line built by hand (what an old `id_dsa.pub` holds)."""
    numbers = [b"\x00" + bytes([0x80 + i]) * 128 for i in range(3)] + [b"\x05" * 128]
    blob = _ssh_string(b"ssh-dss") + b"".join(_ssh_string(n) for n in numbers)
    return f"ssh-dss {base64.b64encode(blob).decode()} old@host"


def md5_of(public_key: str) -> str:
    digest = hashlib.md5(base64.b64decode(public_key.split()[1])).hexdigest()
    return ":".join(digest[i : i + 2] for i in range(0, 32, 2))


@pytest.mark.parametrize(("public_key", "expected"), VECTORS.items())
def test_fingerprint_is_the_one_ssh_keygen_prints(public_key: str, expected: str) -> None:
    assert fingerprint(public_key) == expected
    # A key file's trailing newline, and a key without a comment, are the same key.
    assert fingerprint(public_key + "\n") == expected
    assert fingerprint(" ".join(public_key.split()[:2])) == expected


def _openssh(key: Any) -> str:
    data: bytes = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return data.decode()


@pytest.mark.parametrize(
    "make",
    [
        lambda: rsa.generate_private_key(65537, 2048),
        ed25519.Ed25519PrivateKey.generate,
        lambda: ec.generate_private_key(ec.SECP256R1()),
        lambda: ec.generate_private_key(ec.SECP384R1()),
        lambda: ec.generate_private_key(ec.SECP521R1()),
    ],
    ids=["rsa", "ed25519", "nistp256", "nistp384", "nistp521"],
)
def test_every_key_type_nova_accepts_has_a_fingerprint(make: Any) -> None:
    public_key = _openssh(make()) + " someone@somewhere"
    assert fingerprint(public_key) == md5_of(public_key)


def test_dsa_keys_are_accepted_and_checked_by_structure() -> None:
    public_key = dsa_public_key()
    assert fingerprint(public_key) == md5_of(public_key)
    truncated = base64.b64encode(base64.b64decode(public_key.split()[1])[:-10]).decode()
    with pytest.raises(BadRequest, match="failed to generate fingerprint"):
        fingerprint(f"ssh-dss {truncated}")


@pytest.mark.parametrize(
    "public_key",
    [
        "",
        "   ",
        "ssh-rsa",
        "ssh-rsa not-base64!!",
        "ssh-rsa " + "A" * 2048 + " openstack@ubuntu",  # Tempest's "too many bits"
        "ssh-ed25519 " + base64.b64encode(b"garbage").decode(),
        "ssh-unknown AAAAB3NzaC1yc2EAAAADAQABAAAAgQC8E57N",
        "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END",
        # An ed25519 blob under an rsa label.
        "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAICYb/GV7Ldq/txWwJ0M8Kx/5tinbXZ/yQUMormG3RUMP",
    ],
)
def test_what_is_not_an_ssh_public_key_is_refused(public_key: str) -> None:
    with pytest.raises(BadRequest) as caught:
        fingerprint(public_key)
    assert caught.value.message == "Keypair data is invalid: failed to generate fingerprint"


def test_generated_key_pair_is_nova_s_format_and_matches() -> None:
    private, public = generate_key_pair()
    assert private.startswith("-----BEGIN RSA PRIVATE KEY-----\n")
    assert private.rstrip().endswith("-----END RSA PRIVATE KEY-----")
    assert public.startswith("ssh-rsa ") and public.endswith(" Generated-by-Nova")
    key = serialization.load_pem_private_key(private.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 2048
    assert _openssh(key) == " ".join(public.split()[:2])
    assert fingerprint(public) == md5_of(public)


@pytest.mark.parametrize("name", ["a", "my key", "web_01-prod-v2", "x" * 255, "Ab c_d-e"])
def test_safe_names(name: str) -> None:
    assert validate_name(name) == name


@pytest.mark.parametrize("name", ["web_01-prod.v2", "A.b c_d-e", "me@host"])
def test_dots_and_ats_are_safe_from_2_92(name: str) -> None:
    """Nova's safe characters were letters, digits, ' ', '_' and '-'; 2.92 adds '@' and '.'."""
    with pytest.raises(BadRequest, match="unsafe characters"):
        validate_name(name)
    assert validate_name(name, import_only=True) == name


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "between 1 and 255"),
        ("x" * 256, "between 1 and 255"),
        (42, "between 1 and 255"),
        (None, "between 1 and 255"),
        ("key_/.\\@:", "unsafe characters"),  # Tempest's invalid name
        ("naïve", "unsafe characters"),
        ("tab\tkey", "unsafe characters"),
        (" leading", "whitespace"),
        ("trailing ", "whitespace"),
    ],
)
def test_unsafe_names(name: Any, reason: str) -> None:
    with pytest.raises(BadRequest) as caught:
        validate_name(name)
    assert caught.value.message.startswith("Keypair data is invalid: ")
    assert reason in caught.value.message


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        {},
        {"keypair": "k"},
        {"keypair": {}},
        {"keypair": {"name": "k"}, "extra": 1},
        {"keypair": {"name": "k", "type": "ssh"}},  # 2.2
        {"keypair": {"name": "k", "user_id": "u"}},  # 2.10
        {"keypair": {"name": "k", "public_key": 42}},
        {"keypair": {"name": "k", "public_key": None}},
    ],
)
def test_malformed_create_bodies(body: Any) -> None:
    with pytest.raises(BadRequest):
        parse_create(body)


def test_create_body() -> None:
    assert parse_create({"keypair": {"name": "k"}}) == ("k", None, "ssh")
    assert parse_create({"keypair": {"name": "k", "public_key": "ssh-rsa A"}}) == (
        "k",
        "ssh-rsa A",
        "ssh",
    )


def test_typed_create_body_at_2_2() -> None:
    assert parse_create({"keypair": {"name": "k"}}, typed=True) == ("k", None, "ssh")
    assert parse_create({"keypair": {"name": "k", "type": "x509"}}, typed=True) == (
        "k",
        None,
        "x509",
    )
    for kind in ("rsa", "", None, 1):
        with pytest.raises(BadRequest, match="is not one of"):
            parse_create({"keypair": {"name": "k", "type": kind}}, typed=True)
    with pytest.raises(BadRequest, match="Additional properties"):
        parse_create({"keypair": {"name": "k", "user_id": "u"}}, typed=True)  # 2.10


def test_generated_x509_certificate_is_nova_s_winrm_one() -> None:
    private, certificate = generate_x509_certificate("a-user-id")
    assert private.startswith("-----BEGIN PRIVATE KEY-----")
    cert = x509.load_pem_x509_certificate(certificate.encode())
    assert cert.subject == cert.issuer
    assert cert.subject.rfc4514_string() == "CN=a-user-id"
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    (upn,) = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert isinstance(upn, x509.OtherName)
    assert upn.type_id.dotted_string == "1.3.6.1.4.1.311.20.2.3"
    assert upn.value == b"\x0c\x13a-user-id@localhost"
    assert (cert.not_valid_after_utc - cert.not_valid_before_utc).days >= 3650
    key = serialization.load_pem_private_key(private.encode(), password=None)
    assert key.public_key().public_numbers() == cert.public_key().public_numbers()  # type: ignore[union-attr]


def test_x509_fingerprint_is_the_sha1_of_the_certificate() -> None:
    _, certificate = generate_x509_certificate("u")
    der = x509.load_pem_x509_certificate(certificate.encode()).public_bytes(
        serialization.Encoding.DER
    )
    digest = hashlib.sha1(der).hexdigest()
    expected = ":".join(digest[i : i + 2] for i in range(0, 40, 2))
    assert x509_fingerprint(certificate) == expected
    for bad in ("", "ssh-rsa AAAA", certificate[:200]):
        with pytest.raises(BadRequest, match="failed to generate X509 fingerprint"):
            x509_fingerprint(bad)


def test_der_utf8_strings_use_long_lengths_past_127_bytes() -> None:
    assert der_utf8_string("é") == b"\x0c\x02\xc3\xa9"
    assert der_utf8_string("u" * 127)[:2] == bytes([0x0C, 127])
    assert der_utf8_string("u" * 200)[:3] == bytes([0x0C, 0x81, 200])
    assert der_utf8_string("u" * 300)[:4] == bytes([0x0C, 0x82, 0x01, 0x2C])


def test_integer_id_is_stable_and_fits_nova_s_column() -> None:
    def keypair(user_id: str, name: str) -> Keypair:
        return Keypair(user_id, name, "ssh", "ssh-rsa A", "00", utcnow())

    first = keypair("u1", "k").number
    assert first == keypair("u1", "k").number
    assert 0 <= first < 2**31
    assert len({keypair(u, n).number for u in ("u1", "u2") for n in ("k", "l", "m")}) == 6
