"""Image pre-caching on an aggregate's clusters (`POST /os-aggregates/{id}/images`, 2.81).

Nova asks each compute host of the aggregate to download the images into its cache, so the
first boot there does not wait for the copy. Here the cache of an image on a cluster is its
template VM on the datastore a boot on that cluster would clone from (`TemplateCache`), so
pre-caching makes those templates now, in a background job, and an image already cached is
left as it is. Nova answers 202 before any copy starts, and a copy that fails is only logged
(a later boot makes the template itself); this does the same.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Any

from vistack.common.bus import WorkQueue
from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, NotFound
from vistack.common.policy import PolicyEngine
from vistack.compute.domain.aggregates import AggregateService
from vistack.compute.domain.clusters import ClusterService
from vistack.compute.domain.scheduler import pick_datastore
from vistack.compute.domain.templates import TemplateCache, image_disk
from vistack.compute.domain.work import context_of, context_payload
from vistack.image.domain.images import ImageService

LOG = logging.getLogger(__name__)
TOPIC = "compute.image_precache"
#: The size of the template VM a pre-cached template is made with (a boot re-sizes its clone).
TEMPLATE_CPUS, TEMPLATE_MEMORY_MB = 1, 512


def _image_ids(body: Any) -> list[str]:
    """The ids of `{"cache": [{"id": ...}, ...]}`, checked as Nova's schema and rules."""
    if not isinstance(body, Mapping) or set(body) != {"cache"}:
        raise BadRequest("Invalid input for field/attribute cache. 'cache' is a required property")
    entries = body["cache"]
    if not isinstance(entries, list) or not entries:
        raise BadRequest("Invalid input for field/attribute cache. It must be a non-empty list.")
    ids: list[str] = []
    for entry in entries:
        image_id = entry.get("id") if isinstance(entry, Mapping) else None
        if not isinstance(image_id, str) or set(entry) != {"id"}:
            raise BadRequest("Invalid input for field/attribute cache. Each entry is {'id': ...}.")
        try:
            uuid.UUID(image_id)
        except ValueError:
            raise BadRequest(
                f"Invalid input for field/attribute id. {image_id!r} is not a uuid"
            ) from None
        ids.append(image_id)
    if len(set(ids)) != len(ids):
        raise BadRequest("Duplicate images in request")
    return ids


class ImagePrecache:
    """Checks a pre-cache request and makes the templates in a bus job."""

    def __init__(
        self,
        policy: PolicyEngine,
        bus: WorkQueue,
        aggregates: AggregateService,
        clusters: ClusterService,
        images: ImageService,
        templates: TemplateCache,
    ) -> None:
        self._policy = policy
        self._bus = bus
        self._aggregates = aggregates
        self._clusters = clusters
        self._images = images
        self._templates = templates
        bus.register(TOPIC, self._run)

    def request(self, context: RequestContext, aggregate_id: str, body: Any) -> None:
        """Queue the pre-caching of the body's images on the aggregate's clusters.

        :raises NotFound: no such aggregate. :raises BadRequest: a malformed body, an image
            that does not exist or cannot be a template.
        """
        self._policy.authorize("compute:aggregates:images", context, {})
        aggregate = self._aggregates.show(context, aggregate_id)
        ids = _image_ids(body)
        for image_id in ids:
            try:
                image = self._images.visible_image(context, image_id)
            except NotFound:
                raise BadRequest(f"Image {image_id} could not be found.") from None
            image_disk(image)  # a format vSphere cannot make a template of: 400 now
        payload = {
            "clusters": list(aggregate.hosts),
            "images": ids,
            "context": context_payload(context),
        }
        self._bus.submit(TOPIC, payload)

    def _run(self, payload: Mapping[str, Any]) -> None:
        context = context_of(dict(payload["context"]))
        wanted = set(payload["clusters"])
        clusters = [c for c in self._clusters.candidates(None) if c.name in wanted]
        for image_id in payload["images"]:
            try:
                image = self._images.visible_image(context, image_id)
                source, _ = image_disk(image)
            except Exception:
                LOG.exception("image %s cannot be pre-cached", image_id)
                continue
            for cluster in clusters:
                datastore = pick_datastore(cluster, source)
                if datastore is None:
                    LOG.warning(
                        "cluster %s sees no datastore to cache %s on", cluster.name, image_id
                    )
                    continue
                try:
                    self._templates.template_for(
                        image,
                        cluster.name,
                        datastore,
                        cpus=TEMPLATE_CPUS,
                        memory_mb=TEMPLATE_MEMORY_MB,
                    )
                except Exception:
                    LOG.exception("could not pre-cache image %s on %s", image_id, cluster.name)
