"""Queries on QoS specs, their type associations and type encryption specs."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select

from vistack.volume.db.qos_tables import QosSpecRow, VolumeTypeEncryptionRow, VolumeTypeQosRow
from vistack.volume.db.store import VolumeUnit
from vistack.volume.db.tables import VolumeTypeRow

# -- QoS specs -------------------------------------------------------------------------------


def qos_spec(unit: VolumeUnit, qos_id: str) -> QosSpecRow | None:
    return unit.session.get(QosSpecRow, qos_id)


def qos_spec_named(unit: VolumeUnit, name: str) -> QosSpecRow | None:
    return unit.session.scalars(select(QosSpecRow).where(QosSpecRow.name == name)).first()


def qos_specs(unit: VolumeUnit) -> Sequence[QosSpecRow]:
    return unit.session.scalars(select(QosSpecRow).order_by(QosSpecRow.created_at)).all()


def associated_types(unit: VolumeUnit, qos_id: str) -> Sequence[VolumeTypeRow]:
    """The volume types carrying this spec, by name."""
    return unit.session.scalars(
        select(VolumeTypeRow)
        .join(VolumeTypeQosRow, VolumeTypeQosRow.type_id == VolumeTypeRow.id)
        .where(VolumeTypeQosRow.qos_id == qos_id)
        .order_by(VolumeTypeRow.name)
    ).all()


def association(unit: VolumeUnit, type_id: str) -> VolumeTypeQosRow | None:
    return unit.session.get(VolumeTypeQosRow, type_id)


def qos_ids_by_type(unit: VolumeUnit) -> dict[str, str]:
    """Type id → the id of the QoS spec it carries, for every associated type."""
    rows = unit.session.scalars(select(VolumeTypeQosRow)).all()
    return {row.type_id: row.qos_id for row in rows}


def qos_of_type(unit: VolumeUnit, type_id: str) -> QosSpecRow | None:
    """The QoS spec the volume type carries, if any."""
    return unit.session.scalars(
        select(QosSpecRow)
        .join(VolumeTypeQosRow, VolumeTypeQosRow.qos_id == QosSpecRow.id)
        .where(VolumeTypeQosRow.type_id == type_id)
    ).first()


def disassociate_all(unit: VolumeUnit, qos_id: str) -> None:
    unit.session.execute(delete(VolumeTypeQosRow).where(VolumeTypeQosRow.qos_id == qos_id))


# -- encryption ------------------------------------------------------------------------------


def encryption(unit: VolumeUnit, type_id: str) -> VolumeTypeEncryptionRow | None:
    return unit.session.get(VolumeTypeEncryptionRow, type_id)
