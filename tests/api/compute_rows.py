"""Server rows written straight into a test cloud's database, for the suites that need servers
in a given state (usage, quotas) without building them."""

from __future__ import annotations

import uuid
from typing import Any

from tests.api.conftest import ComputeApi
from tests.api.helpers import unique
from vistack.common.clock import utcnow
from vistack.compute.db.tables import ServerRow


def insert_server(api: ComputeApi, project_id: str, **fields: Any) -> str:
    """A server row of `project_id`: one m1.tiny-sized, settled server unless `fields` say
    otherwise (any `ServerRow` column); returns its id."""
    now = utcnow()
    vcpus, memory_mb, root_gb = (
        fields.get(k, d) for k, d in (("vcpus", 1), ("memory_mb", 512), ("root_gb", 1))
    )
    values: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "project_id": project_id,
        "user_id": "tester",
        "name": unique("vm"),
        "hostname": "vm",
        "description": None,
        "flavor": {"vcpus": vcpus, "ram": memory_mb, "disk": root_gb},
        "vcpus": vcpus,
        "memory_mb": memory_mb,
        "root_gb": root_gb,
        "image_id": "",
        "metadata_items": {},
        "requested_networks": [],
        "port_ids": [],
        "owned_port_ids": [],
        "security_groups": [],
        "addresses": {},
        "vm_state": "active",
        "task_state": None,
        "power_state": 1,
        "created_at": now,
        "updated_at": now,
        **fields,
    }
    with api.cloud.compute.clusters._store.transaction() as unit:
        unit.add(ServerRow(**values))
    return str(values["id"])
