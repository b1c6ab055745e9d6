"""Nova's image proxy (`/v2.1/images`, microversions 2.1 to 2.35): Glance's images as Nova 2.1
shows them, and their metadata (2.1 to 2.38), read and changed through this cloud's Glance with
the caller's own rights (so Glance's visibility and policy decide, as in Nova).

Nova's list filters (`name`, `status`, `changes-since`, `server`, `type`, `minRam`, `minDisk`)
are applied to the images the caller sees, newest first (Glance's order); `marker` and `limit`
page them. Image metadata is bounded by the project's `metadata_items` quota, as Nova bounds it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, NotFound
from vistack.compute.domain.quotas import ComputeQuotas
from vistack.image.domain.images import ImageService
from vistack.image.domain.models import Image, ListQuery
from vistack.image.domain.patch import PatchOp

#: Glance status → Nova's image status, and the progress Nova shows for it.
STATUS = {
    "active": ("ACTIVE", 100),
    "queued": ("SAVING", 25),
    "saving": ("SAVING", 50),
    "importing": ("SAVING", 50),
    "uploading": ("SAVING", 50),
    "deleted": ("DELETED", 0),
    "pending_delete": ("DELETED", 0),
    "killed": ("ERROR", 0),
}
#: The most images one list reads from Glance (Nova's `max_limit` bounds a page further).
SCAN_LIMIT = 100000
MAX_LIMIT = 1000


def status_of(image: Image) -> tuple[str, int]:
    return STATUS.get(image.status, ("UNKNOWN", 0))


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"Invalid changes-since value: {text!r}") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _integer(text: str, name: str) -> int:
    if not text.isascii() or not text.isdigit():
        raise BadRequest(f"Invalid {name} filter [{text}]")
    return int(text)


def _matches(image: Image, params: Mapping[str, str]) -> bool:
    """Nova's image list filters on one image."""
    checks: list[bool] = []
    if "name" in params:
        checks.append(image.name == params["name"])
    if "status" in params:
        checks.append(status_of(image)[0] == params["status"].upper())
    if "changes-since" in params:
        checks.append(image.updated_at >= _moment(params["changes-since"]))
    if "server" in params:
        server = params["server"].rstrip("/").rsplit("/", 1)[-1]
        checks.append(image.properties.get("instance_uuid") == server)
    if "type" in params:
        checks.append(image.properties.get("image_type") == params["type"])
    if "minRam" in params:
        checks.append(image.min_ram >= _integer(params["minRam"], "minRam"))
    if "minDisk" in params:
        checks.append(image.min_disk >= _integer(params["minDisk"], "minDisk"))
    return all(checks)


class ImageProxy:
    """The image proxy's reads and changes."""

    def __init__(self, images: ImageService, quotas: ComputeQuotas) -> None:
        self._images = images
        self._quotas = quotas

    def list_images(self, context: RequestContext, params: Mapping[str, str]) -> list[Image]:
        """The page of images the caller sees that pass the filters.

        :raises BadRequest: a malformed filter, limit or marker.
        """
        query = ListQuery(limit=SCAN_LIMIT, sort=[("created_at", "desc")])
        found = [i for i in self._images.list_images(context, query) if _matches(i, params)]
        if "marker" in params:
            ids = [i.id for i in found]
            if params["marker"] not in ids:
                raise BadRequest(f"marker [{params['marker']}] not found")
            found = found[ids.index(params["marker"]) + 1 :]
        limit = MAX_LIMIT
        if "limit" in params:
            limit = min(_integer(params["limit"], "limit"), MAX_LIMIT)
        return found[:limit]

    def get(self, context: RequestContext, image_id: str) -> Image:
        try:
            return self._images.get(context, image_id)
        except NotFound:
            raise NotFound("Image not found.") from None

    def delete(self, context: RequestContext, image_id: str) -> None:
        self.get(context, image_id)
        self._images.delete(context, image_id)

    # ------------------------------------------------------------------ metadata (to 2.38)

    def metadata(self, context: RequestContext, image_id: str) -> dict[str, str]:
        return dict(self.get(context, image_id).properties)

    def change_metadata(
        self, context: RequestContext, image_id: str, items: dict[str, str], *, replace: bool
    ) -> dict[str, str]:
        """Merge `items` into the image's properties (all of them replaced when `replace`),
        within the project's `metadata_items` quota."""
        current = self.metadata(context, image_id)
        wanted = dict(items) if replace else {**current, **items}
        self._quotas.check_metadata_items(context.project_id or "", len(wanted))
        ops = [PatchOp("remove", key) for key in current if key not in wanted]
        ops += [
            PatchOp("replace" if key in current else "add", key, value)
            for key, value in wanted.items()
            if current.get(key) != value
        ]
        if ops:
            self._images.update(context, image_id, ops)
        return self.metadata(context, image_id)

    def delete_item(self, context: RequestContext, image_id: str, key: str) -> None:
        if key not in self.metadata(context, image_id):
            raise NotFound("Invalid metadata key")
        self._images.update(context, image_id, [PatchOp("remove", key)])
