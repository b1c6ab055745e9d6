"""TLS: verified by default, refused with the server's thumbprint in the message, or pinned."""

from __future__ import annotations

import dataclasses
import hashlib
import ssl

import pytest

from tests.vsphere.conftest import SMALL, StartVcsim
from vistack.drivers.errors import TLSVerificationError
from vistack.vsphere.embedded import EmbeddedVCenter
from vistack.vsphere.endpoint import VCenterEndpoint, format_thumbprint
from vistack.vsphere.properties import retrieve
from vistack.vsphere.session import VCenterSession


@pytest.fixture(scope="module")
def vcsim(start_vcsim: StartVcsim) -> EmbeddedVCenter:
    return start_vcsim(dataclasses.replace(SMALL, tls=True))


def _thumbprint(endpoint: VCenterEndpoint) -> str:
    assert endpoint.ca_file is not None
    with open(endpoint.ca_file) as handle:
        der = ssl.PEM_cert_to_DER_cert(handle.read())
    return format_thumbprint(hashlib.sha1(der).digest())


def _hosts(endpoint: VCenterEndpoint) -> int:
    with VCenterSession(endpoint, keepalive_seconds=0) as session:
        return len(session.call(lambda c: retrieve(c, "HostSystem", ["name"])))


def test_verified_with_ca_file(endpoint: VCenterEndpoint) -> None:
    assert endpoint.protocol == "https" and endpoint.ca_file
    assert _hosts(endpoint) == 4


def test_refused_without_ca_file_with_thumbprint_in_message(endpoint: VCenterEndpoint) -> None:
    untrusted = dataclasses.replace(endpoint, ca_file=None)
    thumbprint = _thumbprint(endpoint)
    with pytest.raises(TLSVerificationError) as caught:
        VCenterSession(untrusted, keepalive_seconds=0).connect()
    assert caught.value.thumbprint == thumbprint
    assert thumbprint in caught.value.message
    assert "TLS verification of vCenter" in caught.value.message


def test_accepted_with_thumbprint_pinning(endpoint: VCenterEndpoint) -> None:
    pinned = dataclasses.replace(endpoint, ca_file=None, thumbprint=_thumbprint(endpoint))
    assert _hosts(pinned) == 4


def test_wrong_pin_is_refused(endpoint: VCenterEndpoint) -> None:
    wrong = "00:" + _thumbprint(endpoint)[3:]
    if wrong == _thumbprint(endpoint):
        wrong = "11:" + wrong[3:]
    pinned = dataclasses.replace(endpoint, ca_file=None, thumbprint=wrong)
    with pytest.raises(TLSVerificationError, match="not the pinned one") as caught:
        VCenterSession(pinned, keepalive_seconds=0).connect()
    assert caught.value.thumbprint == _thumbprint(endpoint)


def test_insecure_is_an_explicit_opt_out(endpoint: VCenterEndpoint) -> None:
    assert _hosts(dataclasses.replace(endpoint, ca_file=None, insecure=True)) == 4


def test_localhost_is_verified_too(endpoint: VCenterEndpoint) -> None:
    # pyVim skips verification for "localhost"; we do not.
    untrusted = dataclasses.replace(endpoint, host="localhost", ca_file=None)
    with pytest.raises(TLSVerificationError):
        VCenterSession(untrusted, keepalive_seconds=0).connect()
