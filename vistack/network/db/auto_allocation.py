"""Auto-allocation tables (schema in migration 0024) and the queries on them.

Races are settled by keys, as everywhere in the network tables: one topology per project
(`network_auto_topology` primary key: of two concurrent first builds one insert wins and the
loser cleans its own copy away) and one default external network per cloud
(`network_default_external` has a single-slot primary key, so two concurrent "make this the
default" writes cannot both commit). Both rows go with their network (cascade).
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, delete, select
from sqlalchemy.orm import Mapped, mapped_column

from vistack.common.db import Base
from vistack.network.db.repository import Unit
from vistack.network.db.tables import ID, PROJECT

#: The only value of `DefaultExternalRow.slot`: its key admits one row.
DEFAULT_SLOT = 1


class AutoTopologyRow(Base):
    """A project's auto-allocated topology: its network, and the router uplinking it (NULL
    once that router is gone; Neutron's `auto_allocated_topologies` has the same shape)."""

    __tablename__ = "network_auto_topology"

    project_id: Mapped[str] = mapped_column(PROJECT, primary_key=True)
    network_id: Mapped[str] = mapped_column(
        ID, ForeignKey("network_network.id", ondelete="CASCADE"), index=True
    )
    router_id: Mapped[str | None] = mapped_column(
        ID, ForeignKey("network_router.id", ondelete="SET NULL"), index=True
    )


class DefaultExternalRow(Base):
    """The default external network (`is_default: true`), where auto-allocated routers put
    their gateway. At most one: `slot` is always `DEFAULT_SLOT`."""

    __tablename__ = "network_default_external"

    slot: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    network_id: Mapped[str] = mapped_column(
        ID, ForeignKey("network_network.id", ondelete="CASCADE"), unique=True
    )


def topology(unit: Unit, project_id: str) -> AutoTopologyRow | None:
    return unit.session.get(AutoTopologyRow, project_id)


def default_external(unit: Unit) -> str | None:
    """The id of the default external network, or None."""
    return unit.session.scalars(select(DefaultExternalRow.network_id)).first()


def set_default_external(unit: Unit, network_id: str, is_default: bool) -> None:
    """Make `network_id` the default external network or not (a collision, as `Collision`,
    when a concurrent request made another one the default first)."""
    current = unit.session.get(DefaultExternalRow, DEFAULT_SLOT)
    if is_default:
        if current is None:
            unit.add(DefaultExternalRow(slot=DEFAULT_SLOT, network_id=network_id))
    elif current is not None and current.network_id == network_id:
        unit.session.execute(
            delete(DefaultExternalRow).where(DefaultExternalRow.network_id == network_id)
        )
