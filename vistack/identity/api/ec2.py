"""OS-EC2: `/v3/users/{user_id}/credentials/OS-EC2` and `POST /v3/ec2tokens`.

EC2 credentials are `ec2` credentials of `/v3/credentials` under another shape (`access`,
`secret`, `tenant_id`), addressed by access key. `POST /v3/ec2tokens` is for the EC2 or S3
service that received a signed request, not for its end user: since CVE-2025-65073 Keystone
requires the caller to authenticate as a service (or an admin), and so does vistack.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, NotFound
from vistack.common.web import JSONBody
from vistack.identity.api import views
from vistack.identity.api.credentials import caller_of
from vistack.identity.api.deps import Context, Services, authorize, collection_links
from vistack.identity.api.schemas import Ec2CredentialCreate, Ec2TokenRequest
from vistack.identity.domain.auth import ValidatedToken
from vistack.identity.domain.aws_signatures import SignedRequest
from vistack.identity.domain.credentials import ec2_keys
from vistack.identity.domain.models import Credential

router = APIRouter()
BASE = "/v3/users/{user_id}/credentials/OS-EC2"


def _view(request: Request, credential: Credential) -> dict[str, Any]:
    try:
        keys = ec2_keys(credential.blob)
    except BadRequest:
        keys = {}
    return views.ec2_credential_view(request, credential, keys)


def _ec2_credential(
    services: Services, context: RequestContext, rule: str, user_id: str, access: str
) -> Credential:
    """The user's EC2 credential with this access key, once policy allowed `rule` on it.

    A missing one is checked as if it were the path's user's: its owner gets a 404, anyone else
    a 403, whether or not the access key exists.
    """
    credential = services.credentials.find_ec2(user_id, access)
    owner = credential.user_id if credential else user_id
    authorize(services, rule, context, credential__user_id=owner)
    if credential is None:
        raise NotFound(f"Could not find credential: {access}.")
    services.credentials.check_reach(credential, caller_of(context))
    return credential


@router.post(BASE, status_code=201)
def create_ec2_credential(
    request: Request,
    user_id: str,
    body: Ec2CredentialCreate,
    services: Services,
    context: Context,
) -> Response:
    authorize(services, "ec2_create_credential", context, user__id=user_id)
    credential, _ = services.credentials.create_ec2(user_id, body.tenant_id, caller_of(context))
    return JSONBody({"credential": _view(request, credential)}, status_code=201)


@router.get(BASE)
def list_ec2_credentials(
    request: Request, user_id: str, services: Services, context: Context
) -> Response:
    authorize(services, "ec2_list_credentials", context, user__id=user_id)
    found = services.credentials.list_ec2(user_id, caller_of(context))
    return JSONBody(
        {
            "credentials": [_view(request, c) for c in found],
            "links": collection_links(request),
        }
    )


@router.get(BASE + "/{access}")
def get_ec2_credential(
    request: Request, user_id: str, access: str, services: Services, context: Context
) -> Response:
    credential = _ec2_credential(services, context, "ec2_get_credential", user_id, access)
    return JSONBody({"credential": _view(request, credential)})


@router.delete(BASE + "/{access}", status_code=204)
def delete_ec2_credential(
    user_id: str, access: str, services: Services, context: Context
) -> Response:
    credential = _ec2_credential(services, context, "ec2_delete_credential", user_id, access)
    services.credentials.delete(credential.id, caller_of(context))
    return Response(status_code=204)


@router.post("/v3/ec2tokens")
async def ec2_tokens(body: Ec2TokenRequest, services: Services, context: Context) -> Response:
    authorize(services, "ec2tokens_validate", context)
    signed = body.credentials or body.credential or body.ec2_credentials
    if signed is None:
        raise BadRequest("Expecting to find credentials in the request body.")
    request = SignedRequest(
        access=signed.access or "",
        signature=signed.signature or "",
        verb=signed.verb,
        host=signed.host,
        path=signed.path,
        params={str(k): str(v) for k, v in signed.params.items()},
        headers={str(k): str(v) for k, v in signed.headers.items()},
        body_hash=signed.body_hash,
    )
    token = await run_in_threadpool(services.credentials.ec2_token, request)
    rendered = await run_in_threadpool(_render, services, token)
    return JSONBody(rendered, headers={"X-Subject-Token": token.token_id})


def _render(services: Services, token: ValidatedToken) -> dict[str, Any]:
    project = token.scope.project
    catalog = services.catalog.catalog_for_project(project.id if project else None)
    return views.token_view(token, catalog)
