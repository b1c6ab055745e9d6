"""Volumes from Nova's snapshot images (Cinder 3.46). Nova's image of a volume-backed server
holds no data (size 0): its `block_device_mapping` property names the Cinder snapshot of the
root volume. From 3.46 a create with such an image as `imageRef` makes the volume from that
snapshot, as Cinder does, instead of refusing an image with no disk."""

from __future__ import annotations

import json
from typing import Any

from vistack.common.context import RequestContext
from vistack.common.errors import NotFound
from vistack.image.domain.images import ImageService


def root_snapshot(images: ImageService | None, context: RequestContext, ref: str) -> str | None:
    """The snapshot id a Nova snapshot image `ref` stands for; None for any other image
    (a regular image, one the caller cannot see: the create answers those as before)."""
    if images is None:
        return None
    try:
        image = images.visible_image(context, ref)
    except NotFound:
        return None
    if image.size not in (None, 0) or not image.properties.get("block_device_mapping"):
        return None
    try:
        mappings: Any = json.loads(image.properties["block_device_mapping"])
    except ValueError:
        return None
    if not isinstance(mappings, list):
        return None
    for mapping in mappings:
        if not isinstance(mapping, dict) or not mapping.get("snapshot_id"):
            continue
        if mapping.get("boot_index") in (0, "0") or mapping.get(
            "device_name"
        ) == image.properties.get("root_device_name"):
            return str(mapping["snapshot_id"])
    return None
