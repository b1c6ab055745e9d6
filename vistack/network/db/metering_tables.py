"""Metering labels and their rules (edge backend; schema in migration 0013).

A label is a named traffic counter of a project (or of every project when `shared`); its rules
say which addresses it counts or, `excluded`, must not count. The edge data plane compiles them
into one nft counter per label in each router namespace (vistack/edge/meter.py).

Rules go with their label (cascade). Overlap between rules of one label is checked in Python,
so rule creates on a label are serialised by bumping the label's `generation` first (the same
lock-by-update as subnet pools): two overlapping creates cannot both pass the check.
"""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from vistack.common.db import Base
from vistack.network.db.tables import ID, NAME, PROJECT

#: Long enough for any IPv6 CIDR (as the security group rule prefix column).
PREFIX = String(64)


class MeteringLabelRow(Base):
    """A metering label. Neutron gives labels no timestamps nor revision numbers."""

    __tablename__ = "network_metering_label"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(PROJECT, index=True)
    name: Mapped[str] = mapped_column(NAME, default="")
    description: Mapped[str] = mapped_column(NAME, default="")
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Bumped by every rule create: the update is the label's lock.
    generation: Mapped[int] = mapped_column(Integer, default=0)


class MeteringLabelRuleRow(Base):
    """One rule of a label. `remote_ip_prefix` (the legacy field) and the source/destination
    pair are exclusive, as in Neutron; the API refuses a rule with both."""

    __tablename__ = "network_metering_label_rule"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    metering_label_id: Mapped[str] = mapped_column(
        ID, ForeignKey("network_metering_label.id", ondelete="CASCADE"), index=True
    )
    direction: Mapped[str] = mapped_column(String(16))
    remote_ip_prefix: Mapped[str | None] = mapped_column(PREFIX)
    source_ip_prefix: Mapped[str | None] = mapped_column(PREFIX)
    destination_ip_prefix: Mapped[str | None] = mapped_column(PREFIX)
    excluded: Mapped[bool] = mapped_column(Boolean, default=False)
