"""`/v3/credentials`: secrets users store (EC2 keys and others), encrypted at rest.

Policy follows Keystone: a cloud admin manages every credential, a reader reads them, a user
manages its own. The target is always the stored credential (never the path or body alone), and
a list is filtered per item with `get_credential`, so a user never sees another's blob.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, NotFound
from vistack.common.web import JSONBody
from vistack.identity.api import views
from vistack.identity.api.deps import Context, Services, authorize, collection_links
from vistack.identity.api.schemas import CredentialCreate, CredentialUpdate, Strict
from vistack.identity.domain.auth import EC2_METHOD
from vistack.identity.domain.credentials import Caller
from vistack.identity.domain.models import Credential

router = APIRouter()
BASE = "/v3/credentials"


class CreateRequest(Strict):
    credential: CredentialCreate


class UpdateRequest(Strict):
    credential: CredentialUpdate


def caller_of(context: RequestContext) -> Caller:
    """A trust, an application credential or an EC2 credential acts for one project only."""
    delegated = bool(
        context.trust_id or context.application_credential_id or EC2_METHOD in context.auth_methods
    )
    return Caller(context.project_id if delegated else None, delegated)


def _credential(
    services: Services, context: RequestContext, rule: str, credential_id: str
) -> Credential:
    """The credential, once policy allowed `rule` on it (403 before 404, as in Keystone)."""
    credential = services.credentials.find(credential_id)
    authorize(
        services, rule, context, credential__user_id=credential.user_id if credential else None
    )
    if credential is None:
        raise NotFound(f"Could not find credential: {credential_id}.")
    services.credentials.check_reach(credential, caller_of(context))
    return credential


@router.post(BASE, status_code=201)
def create_credential(
    request: Request, body: CreateRequest, services: Services, context: Context
) -> Response:
    spec = body.credential
    authorize(services, "create_credential", context, credential__user_id=spec.user_id)
    credential = services.credentials.create(
        spec.user_id, spec.type, spec.blob, spec.project_id, caller_of(context)
    )
    return JSONBody({"credential": views.credential_view(request, credential)}, status_code=201)


@router.get(BASE)
def list_credentials(
    request: Request,
    services: Services,
    context: Context,
    user_id: str | None = None,
    type: str | None = None,
) -> Response:
    authorize(services, "list_credentials", context, credential__user_id=context.user_id)

    def visible(credential: Credential) -> bool:
        target = {"target.credential.user_id": credential.user_id}
        return services.policy.check("identity:get_credential", context, target)

    found = services.credentials.list_credentials(
        user_id=user_id, type=type, visible=visible, caller=caller_of(context)
    )
    return JSONBody(
        {
            "credentials": [views.credential_view(request, c) for c in found],
            "links": collection_links(request),
        }
    )


@router.get(BASE + "/{credential_id}")
def get_credential(
    request: Request, credential_id: str, services: Services, context: Context
) -> Response:
    credential = _credential(services, context, "get_credential", credential_id)
    return JSONBody({"credential": views.credential_view(request, credential)})


@router.patch(BASE + "/{credential_id}")
def update_credential(
    request: Request,
    credential_id: str,
    body: UpdateRequest,
    services: Services,
    context: Context,
) -> Response:
    spec = body.credential
    if not spec.model_fields_set:
        raise BadRequest("Expecting to find something to update in credential.")
    current = _credential(services, context, "update_credential", credential_id)
    for name, given, kept in (
        ("id", spec.id, current.id),
        ("user_id", spec.user_id, current.user_id),
        ("type", spec.type, current.type),
    ):
        if given is not None and given != kept:
            raise BadRequest(
                f"The {name} of a credential cannot change: delete it and create another."
            )
    credential = services.credentials.update(
        credential_id, spec.blob, spec.project_id, caller_of(context)
    )
    return JSONBody({"credential": views.credential_view(request, credential)})


@router.delete(BASE + "/{credential_id}", status_code=204)
def delete_credential(credential_id: str, services: Services, context: Context) -> Response:
    _credential(services, context, "delete_credential", credential_id)
    services.credentials.delete(credential_id, caller_of(context))
    return Response(status_code=204)
