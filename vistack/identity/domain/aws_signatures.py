"""AWS request signatures, versions 2 and 4, recomputed from what a service forwards.

A service that received an AWS-signed request (an EC2 API, later Swift's S3 API) cannot check
the signature itself: only Keystone holds the secret. It forwards what was signed to
`POST /v3/ec2tokens` (access key, signature, verb, host, path, parameters, headers, body hash),
and this module recomputes the signature with the stored secret, as keystoneclient's `Ec2Signer`
does (the code both those services and Keystone use), with AWS's own rule wherever keystoneclient
is laxer:

- version 2 signs with the `SignatureMethod` the client named (HmacSHA256 by default, HmacSHA1
  when asked) and leaves a `Signature` parameter out of what is signed;
- version 4 needs a well-formed credential scope (`date/region/service/aws4_request`) whose date
  is the request's, collapses runs of spaces in header values and leaves `X-Amz-Signature` (a
  presigned URL's) out of the canonical query.

Versions 0 and 1 are refused: AWS retired them, and version 1's string to sign is ambiguous
(parameters are concatenated without separators). Signatures compare in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from vistack.identity.domain.time import parse_isotime

V4_ALGORITHM = "AWS4-HMAC-SHA256"
#: SHA-256 of nothing: the body hash of a request without a body.
EMPTY_BODY_HASH = hashlib.sha256(b"").hexdigest()
#: Version 2's SignatureMethod values and their digests.
_V2_DIGESTS = {"HmacSHA256": "sha256", "HmacSHA1": "sha1"}


class SignatureFormatError(ValueError):
    """The request is not signed in a way this module can check (the message says why)."""


@dataclass(frozen=True)
class SignedRequest:
    """An AWS-signed request as the receiving service describes it to Keystone."""

    access: str
    signature: str
    verb: str = "GET"
    host: str = ""
    path: str = "/"
    params: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    #: SHA-256 (hex) of the request body, for version 4.
    body_hash: str = ""


def signature_version(request: SignedRequest) -> int:
    """2 or 4, detected as keystoneclient does.

    :raises SignatureFormatError: another version, or no recognisable signature at all.
    """
    version = request.params.get("SignatureVersion")
    if version == "2":
        return 2
    if version in ("0", "1"):
        raise SignatureFormatError(
            f"AWS signature version {version} is not accepted: sign with version 2 or 4."
        )
    authorization = _lower_keys(request.headers).get("authorization", "")
    if (
        authorization.startswith(V4_ALGORITHM)
        or request.params.get("X-Amz-Algorithm") == V4_ALGORITHM
    ):
        return 4
    if version is not None:
        raise SignatureFormatError(f"Unknown AWS signature version {version!r}.")
    raise SignatureFormatError("The request carries no AWS signature of version 2 or 4.")


def compute_signature(secret: str, request: SignedRequest) -> str:
    """The signature `request` must carry if it was signed with `secret`.

    :raises SignatureFormatError: see `signature_version`, or a malformed version 4 scope.
    """
    if signature_version(request) == 2:
        return _v2(secret, request)
    return _v4(secret, request)


def signature_matches(secret: str, request: SignedRequest) -> bool:
    """Whether the request's signature is the one `secret` makes.

    Some client libraries sign the host without its port; like Keystone, a mismatch is retried
    once with the port removed.

    :raises SignatureFormatError: see `compute_signature`.
    """
    if _equal(compute_signature(secret, request), request.signature):
        return True
    if ":" in request.host:
        hostname = urllib.parse.urlsplit("//" + request.host).hostname or ""
        without_port = replace(request, host=hostname)
        return _equal(compute_signature(secret, without_port), request.signature)
    return False


def request_time(request: SignedRequest) -> datetime | None:
    """When the client signed the request (naive UTC), from `Timestamp` (version 2) or
    `X-Amz-Date` (version 4); None when it carries neither.

    :raises SignatureFormatError: the timestamp is not a timestamp.
    """
    text = (
        request.params.get("Timestamp")
        or _lower_keys(request.headers).get("x-amz-date")
        or request.params.get("X-Amz-Date")
    )
    if not text:
        return None
    try:
        return parse_isotime(text)
    except ValueError as exc:
        raise SignatureFormatError(f"The request timestamp {text!r} is not valid.") from exc


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """Version 4's derived key for one day, region and service."""
    key = _hmac(("AWS4" + secret).encode("utf-8"), date)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    return key


def canonical_query(params: Mapping[str, str]) -> str:
    """Parameters sorted by name, RFC 3986 percent-encoded, joined with `&`."""
    return "&".join(
        f"{urllib.parse.quote(name, safe='')}={urllib.parse.quote(str(params[name]), safe='-_~')}"
        for name in sorted(params)
    )


def _v2(secret: str, request: SignedRequest) -> str:
    params = {name: value for name, value in request.params.items() if name != "Signature"}
    method = params.setdefault("SignatureMethod", "HmacSHA256")
    digest = _V2_DIGESTS.get(method)
    if digest is None:
        raise SignatureFormatError(f"Unknown AWS version 2 SignatureMethod {method!r}.")
    to_sign = f"{request.verb}\n{request.host}\n{request.path}\n{canonical_query(params)}"
    mac = hmac.new(secret.encode("utf-8"), to_sign.encode("utf-8"), digest)
    return base64.b64encode(mac.digest()).decode("ascii")


def _v4(secret: str, request: SignedRequest) -> str:
    headers = _lower_keys(request.headers)
    authorization = headers.get("authorization", "")
    if authorization.startswith(V4_ALGORITHM):
        fields = _authorization_fields(authorization[len(V4_ALGORITHM) :])
        credential = fields.get("Credential", "")
        signed_headers = fields.get("SignedHeaders", "")
    else:
        credential = request.params.get("X-Amz-Credential", "")
        signed_headers = request.params.get("X-Amz-SignedHeaders", "")
    date = headers.get("x-amz-date") or request.params.get("X-Amz-Date") or ""
    scope = credential.split("/")
    if len(scope) != 5 or scope[4] != "aws4_request" or not all(scope[1:4]):
        raise SignatureFormatError(
            "The version 4 credential must read ACCESS/DATE/REGION/SERVICE/aws4_request."
        )
    if not date or not date.startswith(scope[1]):
        raise SignatureFormatError("The request date does not match the credential's date.")
    if not signed_headers:
        raise SignatureFormatError("The version 4 signature names no signed headers.")
    lines = []
    for name in signed_headers.split(";"):
        value = headers.get(name)
        if value is None and name == "host":
            value = request.host
        if value is not None:
            lines.append(f"{name}:{' '.join(value.split())}")
    query = ""
    if request.verb.upper() != "POST":
        # A POST carries its parameters in the body, which the body hash covers.
        query = canonical_query(
            {name: value for name, value in request.params.items() if name != "X-Amz-Signature"}
        )
    body_hash = request.body_hash or headers.get("x-amz-content-sha256") or EMPTY_BODY_HASH
    canonical = "\n".join(
        (
            request.verb.upper(),
            request.path,
            query,
            "\n".join(lines) + "\n",
            signed_headers,
            body_hash,
        )
    )
    to_sign = "\n".join(
        (
            V4_ALGORITHM,
            date,
            "/".join(scope[1:]),
            hashlib.sha256(canonical.encode("utf-8")).hexdigest(),
        )
    )
    key = signing_key(secret, scope[1], scope[2], scope[3])
    return hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def _authorization_fields(text: str) -> dict[str, str]:
    """`Credential=..., SignedHeaders=..., Signature=...` as a dictionary."""
    fields: dict[str, str] = {}
    for part in text.split(","):
        name, _, value = part.strip().partition("=")
        if name:
            fields[name] = value.strip()
    return fields


def _lower_keys(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower().strip(): str(value).strip() for name, value in headers.items()}


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def _equal(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))
