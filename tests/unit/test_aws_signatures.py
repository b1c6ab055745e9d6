"""AWS signatures v2 and v4: AWS's published examples, keystoneclient's signer, and refusals."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

import pytest

from vistack.identity.domain.aws_signatures import (
    EMPTY_BODY_HASH,
    SignatureFormatError,
    SignedRequest,
    canonical_query,
    compute_signature,
    request_time,
    signature_matches,
    signature_version,
    signing_key,
)

# The example credentials of AWS's Signature Version 4 documentation and test suite.
AWS_ACCESS = "AKIDEXAMPLE"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
AWS_DATE = "20150830T123600Z"
#: "Create a signed AWS API request": GET https://iam.amazonaws.com/?Action=ListUsers&...
IAM_SIGNATURE = "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
#: The test suite's `get-vanilla` case: GET / on example.amazonaws.com, service "service".
VANILLA_SIGNATURE = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"


def _iam_list_users(**changes: Any) -> SignedRequest:
    request = SignedRequest(
        access=AWS_ACCESS,
        signature=IAM_SIGNATURE,
        verb="GET",
        host="iam.amazonaws.com",
        path="/",
        params={"Action": "ListUsers", "Version": "2010-05-08"},
        headers={
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
            "Host": "iam.amazonaws.com",
            "X-Amz-Date": AWS_DATE,
            "Authorization": (
                f"AWS4-HMAC-SHA256 Credential={AWS_ACCESS}/20150830/us-east-1/iam/aws4_request, "
                f"SignedHeaders=content-type;host;x-amz-date, Signature={IAM_SIGNATURE}"
            ),
        },
        body_hash=EMPTY_BODY_HASH,
    )
    return dataclasses.replace(request, **changes)


def test_the_aws_published_v4_example() -> None:
    request = _iam_list_users()
    assert signature_version(request) == 4
    assert compute_signature(AWS_SECRET, request) == IAM_SIGNATURE
    assert signature_matches(AWS_SECRET, request)
    assert not signature_matches("another secret", request)
    assert not signature_matches(AWS_SECRET, _iam_list_users(params={"Action": "ListRoles"}))


def test_the_aws_signing_key_derivations() -> None:
    assert signing_key(AWS_SECRET, "20150830", "us-east-1", "iam").hex() == (
        "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
    )
    assert signing_key(AWS_SECRET, "20120215", "us-east-1", "iam").hex() == (
        "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
    )


def test_the_aws_test_suite_get_vanilla() -> None:
    request = SignedRequest(
        access=AWS_ACCESS,
        signature=VANILLA_SIGNATURE,
        host="example.amazonaws.com",
        headers={
            "Host": "example.amazonaws.com",
            "X-Amz-Date": AWS_DATE,
            "Authorization": (
                f"AWS4-HMAC-SHA256 Credential={AWS_ACCESS}/20150830/us-east-1/service/"
                "aws4_request, SignedHeaders=host;x-amz-date"
            ),
        },
    )
    assert compute_signature(AWS_SECRET, request) == VANILLA_SIGNATURE
    # Without a Host header, the host the service was reached at is the signed one.
    headers = {k: v for k, v in request.headers.items() if k != "Host"}
    assert signature_matches(AWS_SECRET, dataclasses.replace(request, headers=headers))


def test_v4_in_the_query_string_equals_v4_in_the_header() -> None:
    header = _iam_list_users()
    query = dataclasses.replace(
        header,
        params={
            **header.params,
            "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
            "X-Amz-Credential": f"{AWS_ACCESS}/20150830/us-east-1/iam/aws4_request",
            "X-Amz-SignedHeaders": "content-type;host;x-amz-date",
            "X-Amz-Date": AWS_DATE,
        },
        headers={k: v for k, v in header.headers.items() if k != "Authorization"},
    )
    assert signature_version(query) == 4
    signature = compute_signature(AWS_SECRET, query)
    assert signature != IAM_SIGNATURE  # the X-Amz-* parameters are signed too
    presigned = dataclasses.replace(
        query, params={**query.params, "X-Amz-Signature": signature}, signature=signature
    )
    assert signature_matches(AWS_SECRET, presigned)


@pytest.mark.parametrize(
    ("credential", "date"),
    [
        (f"{AWS_ACCESS}/20150830/us-east-1/iam", AWS_DATE),
        (f"{AWS_ACCESS}/20150830/us-east-1/iam/aws4_reply", AWS_DATE),
        (f"{AWS_ACCESS}/20150830//iam/aws4_request", AWS_DATE),
        (f"{AWS_ACCESS}/20150831/us-east-1/iam/aws4_request", AWS_DATE),
        (f"{AWS_ACCESS}/20150830/us-east-1/iam/aws4_request", ""),
    ],
)
def test_malformed_v4_scopes_are_refused(credential: str, date: str) -> None:
    headers = {
        "Host": "h",
        "Authorization": f"AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders=host",
    }
    if date:
        headers["X-Amz-Date"] = date
    with pytest.raises(SignatureFormatError):
        compute_signature(AWS_SECRET, SignedRequest(AWS_ACCESS, "x", headers=headers))


def test_v2_signs_what_the_client_named() -> None:
    params = {
        "SignatureVersion": "2",
        "Action": "DescribeRegions",
        "Timestamp": "2026-01-02T03:04:05Z",
    }
    request = SignedRequest("a", "", "GET", "ec2.example:8788", "/", params)
    sha256 = compute_signature("secret", request)
    assert (
        compute_signature(
            "secret",
            dataclasses.replace(request, params={**params, "SignatureMethod": "HmacSHA256"}),
        )
        == sha256
    )
    sha1 = compute_signature(
        "secret", dataclasses.replace(request, params={**params, "SignatureMethod": "HmacSHA1"})
    )
    assert sha1 != sha256 and len(sha1) == 28
    with_signature = dataclasses.replace(request, params={**params, "Signature": sha256})
    assert compute_signature("secret", with_signature) == sha256
    with pytest.raises(SignatureFormatError):
        bad = {**params, "SignatureMethod": "HmacMD5"}
        compute_signature("secret", dataclasses.replace(request, params=bad))


def test_a_host_signed_without_its_port_still_matches() -> None:
    params = {"SignatureVersion": "2", "Action": "x", "Timestamp": "2026-01-02T03:04:05Z"}
    without_port = SignedRequest("a", "", "GET", "ec2.example", "/", params)
    signature = compute_signature("secret", without_port)
    received = SignedRequest("a", signature, "GET", "ec2.example:8788", "/", params)
    assert signature_matches("secret", received)
    assert not signature_matches("secret", dataclasses.replace(received, host="other:8788"))


@pytest.mark.parametrize(
    ("params", "headers"),
    [
        ({"SignatureVersion": "0", "Action": "x"}, {}),
        ({"SignatureVersion": "1", "Action": "x"}, {}),
        ({"SignatureVersion": "3"}, {}),
        ({"Action": "x"}, {}),
        ({}, {"Authorization": "AWS access:signature"}),
    ],
)
def test_other_signature_versions_are_refused(
    params: dict[str, str], headers: dict[str, str]
) -> None:
    with pytest.raises(SignatureFormatError):
        signature_version(SignedRequest("a", "s", params=params, headers=headers))


def test_canonical_query_encoding() -> None:
    assert canonical_query({"b": "2", "a": "x y/z~é", "A": "*"}) == ("A=%2A&a=x%20y%2Fz~%C3%A9&b=2")


def test_request_time() -> None:
    v2 = SignedRequest("a", "s", params={"Timestamp": "2026-01-02T03:04:05Z"})
    assert request_time(v2) == datetime(2026, 1, 2, 3, 4, 5)
    assert request_time(_iam_list_users()) == datetime(2015, 8, 30, 12, 36)
    query = SignedRequest("a", "s", params={"X-Amz-Date": AWS_DATE})
    assert request_time(query) == datetime(2015, 8, 30, 12, 36)
    assert request_time(SignedRequest("a", "s")) is None
    with pytest.raises(SignatureFormatError):
        request_time(SignedRequest("a", "s", params={"Timestamp": "yesterday"}))


def test_signatures_agree_with_keystoneclient() -> None:
    """keystoneclient's `Ec2Signer` is what EC2 APIs and Keystone itself sign and check with."""
    ec2_utils = pytest.importorskip("keystoneclient.contrib.ec2.utils")
    v2: dict[str, Any] = {
        "access": "a",
        "host": "ec2.example:8788",
        "verb": "GET",
        "path": "/services/Cloud",
        "params": {
            "SignatureVersion": "2",
            "Action": "DescribeInstances",
            "Timestamp": "2026-01-02T03:04:05Z",
            "Filter.1.Value": "a b/c é",
        },
    }
    expected = ec2_utils.Ec2Signer("secret").generate({**v2, "params": dict(v2["params"])})
    assert compute_signature("secret", SignedRequest(signature="", **v2)) == expected

    request = _iam_list_users(path="/some/path", params={"Action": "ListUsers", "X": "a b"})
    v4 = {
        "access": request.access,
        "host": request.host,
        "verb": request.verb,
        "path": request.path,
        "params": dict(request.params),
        "headers": dict(request.headers),
        "body_hash": request.body_hash,
    }
    expected = ec2_utils.Ec2Signer(AWS_SECRET).generate(v4)
    assert compute_signature(AWS_SECRET, request) == expected
    post = dataclasses.replace(request, verb="POST")
    expected = ec2_utils.Ec2Signer(AWS_SECRET).generate({**v4, "verb": "POST"})
    assert compute_signature(AWS_SECRET, post) == expected
