"""`/v2.0/metering/metering-labels` and `/v2.0/metering/metering-label-rules` (edge backend;
extensions `metering` and `metering_source_and_destination_fields`). The rules are the
domain's (domain/metering.py); in `dvs` mode `no_metering_router` answers these paths with a
404 instead, there being no router to meter.

Labels and rules cannot be updated (Neutron's attributes are all create-only), so there is no
PUT: the path answers 405.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from vistack.network.api.collection import add_collection
from vistack.network.api.deps import Context
from vistack.network.domain.errors import NeutronNotFound

router = APIRouter()
NO_METERING = (
    "The dvs network backend has no L3 and so nothing to meter: metering labels and rules "
    "are not available and nothing was created (they come with the edge backend)."
)


add_collection(
    router,
    "metering_labels",
    lambda service, context: service.metering.list_labels(context),
    lambda service, context, item_id: service.metering.get_label(context, item_id),
    lambda service, context, body: service.metering.create_label(context, body),
    None,
    lambda service, context, item_id: service.metering.delete_label(context, item_id),
    path="metering/metering-labels",
    bulk=False,
    if_match=False,
)
add_collection(
    router,
    "metering_label_rules",
    lambda service, context: service.metering.list_rules(context),
    lambda service, context, item_id: service.metering.get_rule(context, item_id),
    lambda service, context, body: service.metering.create_rule(context, body),
    None,
    lambda service, context, item_id: service.metering.delete_rule(context, item_id),
    path="metering/metering-label-rules",
    bulk=False,
    if_match=False,
)

_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH"]
#: Mounted instead of `router` in `dvs` mode (see app.py).
no_metering_router = APIRouter()


@no_metering_router.api_route("/v2.0/metering/{rest:path}", methods=_METHODS)
def no_metering(_context: Context) -> Response:
    raise NeutronNotFound(NO_METERING, "HTTPNotFound")
