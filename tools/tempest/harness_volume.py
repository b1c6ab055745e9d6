"""What Tempest's volume tests (and the compute ones that attach volumes) need to know about
the cloud's Cinder: its microversion range, read from the version document at the service's
v3 document (the catalog's URL ends in `/v3/<project id>`), never assumed."""

from __future__ import annotations

import dataclasses
from typing import Any

from harness_common import HarnessError, api_call, service_url
from harness_tables import MULTIATTACH_TYPE, SERVICE_BY_NAME


@dataclasses.dataclass(frozen=True)
class VolumeInfo:
    catalog_type: str  # the catalog type Tempest's volume clients look up
    min_microversion: str | None
    max_microversion: str | None


def prepare_volume(
    catalog: list[dict[str, Any]], token_id: str, timeout: float
) -> VolumeInfo | None:
    """The volume service's catalog type and microversions, or None without one."""
    for catalog_type in SERVICE_BY_NAME["volume"].catalog_types:
        url = service_url(catalog, catalog_type)
        if url is None:
            continue
        # `GET /volume/` answers 300 Multiple Choices (as Cinder does); `/volume/v3/` 200.
        root = url.split("/v3", 1)[0] + "/v3/"
        document = api_call(root, token_id, timeout) or {}
        versions = [v for v in document.get("versions") or [] if v.get("id") == "v3.0"]
        if not versions:
            raise HarnessError(f"GET {root} lists no v3.0 version: {document}")
        high = str(versions[0].get("version") or "") or None
        low = str(versions[0].get("min_version") or "") or None
        ensure_multiattach_type(url, token_id, timeout)
        return VolumeInfo(catalog_type, low, high)
    return None


def ensure_multiattach_type(url: str, token_id: str, timeout: float) -> None:
    """The public volume type Tempest's multiattach tests name ([volume]
    volume_type_multiattach), made once: a cloud keeps it across runs."""
    listed = api_call(f"{url}/types", token_id, timeout) or {}
    if any(t.get("name") == MULTIATTACH_TYPE for t in listed.get("volume_types") or []):
        return
    body = {
        "volume_type": {
            "name": MULTIATTACH_TYPE,
            "extra_specs": {"multiattach": "<is> True"},
            "os-volume-type-access:is_public": True,
        }
    }
    api_call(f"{url}/types", token_id, timeout, body)
