"""`/v2.0/rbac-policies`: share networks with projects (`access_as_shared`) or make them
external for them (`access_as_external`). The rules are the domain's (domain/rbac.py)."""

from __future__ import annotations

from fastapi import APIRouter

from vistack.network.api.collection import add_collection

router = APIRouter()
add_collection(
    router,
    "rbac_policies",
    lambda service, context: service.rbac.list_policies(context),
    lambda service, context, item_id: service.rbac.get_policy(context, item_id),
    lambda service, context, body: service.rbac.create_policy(context, body),
    lambda service, context, item_id, body: service.rbac.update_policy(context, item_id, body),
    lambda service, context, item_id: service.rbac.delete_policy(context, item_id),
    member="rbac_policy",
    bulk=False,
    if_match=False,
)
