"""Queries on a server's block device mappings (`compute_block_device_mapping`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select, update

from vistack.common.clock import utcnow
from vistack.compute.db.block_device_tables import BlockDeviceMappingRow
from vistack.compute.db.store import ComputeUnit
from vistack.compute.domain.block_devices import BlockDevice

_ORDER = (BlockDeviceMappingRow.id,)


def to_device(row: BlockDeviceMappingRow) -> BlockDevice:
    return BlockDevice(
        uuid=row.uuid,
        server_id=row.server_id,
        boot_index=row.boot_index,
        source_type=row.source_type,
        destination_type=row.destination_type,
        volume_id=row.volume_id,
        image_id=row.image_id,
        volume_size=row.volume_size,
        volume_type=row.volume_type,
        device_name=row.device_name,
        delete_on_termination=bool(row.delete_on_termination),
        tag=row.tag,
        attachment_id=row.attachment_id,
        nova_created=bool(row.nova_created),
        path=row.path,
    )


def add(unit: ComputeUnit, server_id: str, bdm_uuid: str, **values: Any) -> BlockDevice:
    """Record a new mapping of the server."""
    values.setdefault("delete_on_termination", False)
    values.setdefault("nova_created", False)
    row = BlockDeviceMappingRow(uuid=bdm_uuid, server_id=server_id, created_at=utcnow(), **values)
    unit.add(row)
    return to_device(row)


def of_server(unit: ComputeUnit, server_id: str) -> list[BlockDevice]:
    """The server's mappings in the order they were made."""
    query = select(BlockDeviceMappingRow).where(BlockDeviceMappingRow.server_id == server_id)
    return [to_device(r) for r in unit.session.scalars(query.order_by(*_ORDER))]


def of_servers(unit: ComputeUnit, server_ids: Sequence[str]) -> dict[str, list[BlockDevice]]:
    """The volume mappings of several servers (for list views), by server id."""
    if not server_ids:
        return {}
    query = select(BlockDeviceMappingRow).where(
        BlockDeviceMappingRow.server_id.in_(list(server_ids)),
        BlockDeviceMappingRow.destination_type == "volume",
    )
    out: dict[str, list[BlockDevice]] = {}
    for row in unit.session.scalars(query.order_by(*_ORDER)):
        out.setdefault(row.server_id, []).append(to_device(row))
    return out


def of_volume(unit: ComputeUnit, server_id: str, volume_id: str) -> BlockDevice | None:
    query = select(BlockDeviceMappingRow).where(
        BlockDeviceMappingRow.server_id == server_id,
        BlockDeviceMappingRow.volume_id == volume_id,
    )
    row = unit.session.scalars(query).first()
    return to_device(row) if row is not None else None


def set_fields(unit: ComputeUnit, bdm_uuid: str, **values: Any) -> None:
    statement = (
        update(BlockDeviceMappingRow).where(BlockDeviceMappingRow.uuid == bdm_uuid).values(**values)
    )
    unit.session.execute(statement, execution_options={"synchronize_session": False})


def remove(unit: ComputeUnit, bdm_uuid: str) -> None:
    unit.session.execute(
        delete(BlockDeviceMappingRow).where(BlockDeviceMappingRow.uuid == bdm_uuid),
        execution_options={"synchronize_session": False},
    )
