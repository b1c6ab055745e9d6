"""`/v3/users/{user_id}/access_rules`: a user's application credential access rules.

Rules are created with application credentials (`access_rules` in their body), never here.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from vistack.common.web import JSONBody
from vistack.identity.api import views
from vistack.identity.api.deps import Context, Services, authorize, collection_links

router = APIRouter()
BASE = "/v3/users/{user_id}/access_rules"


@router.get(BASE)
def list_access_rules(
    request: Request,
    user_id: str,
    services: Services,
    context: Context,
    service: str | None = None,
    path: str | None = None,
    method: str | None = None,
) -> Response:
    authorize(services, "list_access_rules", context, user__id=user_id)
    found = services.app_credentials.list_access_rules(
        user_id, service=service, path=path, method=method
    )
    return JSONBody(
        {
            "access_rules": [views.access_rule_view(request, rule) for rule in found],
            "links": collection_links(request),
        }
    )


@router.get(BASE + "/{access_rule_id}")
def get_access_rule(
    request: Request, user_id: str, access_rule_id: str, services: Services, context: Context
) -> Response:
    authorize(services, "get_access_rule", context, user__id=user_id)
    rule = services.app_credentials.get_access_rule(user_id, access_rule_id)
    return JSONBody({"access_rule": views.access_rule_view(request, rule)})


@router.delete(BASE + "/{access_rule_id}", status_code=204)
def delete_access_rule(
    user_id: str, access_rule_id: str, services: Services, context: Context
) -> Response:
    authorize(services, "delete_access_rule", context, user__id=user_id)
    services.app_credentials.delete_access_rule(user_id, access_rule_id)
    return Response(status_code=204)
