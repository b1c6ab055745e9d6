"""Nova's block device mappings: which disks a server has beyond its image's root, and which
volume each one is. Their schema is owned by Alembic (`0017_compute_bdm`).

A row is written when a create asks for a mapping (before any volume exists) or an attach
reserves a volume, and is completed as the work goes on: `volume_id` once Nova's own volume
exists (image and blank sources), `attachment_id` once Cinder reserved the volume for the
server, `device_name` once the disk is on the VM. A row with `attachment_id` but no
`device_name` is an attach in progress, which a failure undoes (`unreserve`) and a delete
cleans up the same way.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from vistack.common.db import Base, PreciseDateTime
from vistack.compute.db.tables import ID, NAME


class BlockDeviceMappingRow(Base):
    """One block device of a server (Nova's `block_device_mapping` row)."""

    __tablename__ = "compute_block_device_mapping"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: 2.89's `bdm_uuid`.
    uuid: Mapped[str] = mapped_column(ID, unique=True)
    server_id: Mapped[str] = mapped_column(
        ID, ForeignKey("compute_server.id", ondelete="CASCADE"), index=True
    )
    #: 0 for the boot disk, None for a disk the guest does not boot from.
    boot_index: Mapped[int | None] = mapped_column(Integer)
    #: image, volume, blank or snapshot; and volume or local.
    source_type: Mapped[str] = mapped_column(String(16))
    destination_type: Mapped[str] = mapped_column(String(16))
    volume_id: Mapped[str | None] = mapped_column(ID, index=True)
    #: The image a volume is made from (source_type image).
    image_id: Mapped[str | None] = mapped_column(ID)
    volume_size: Mapped[int | None] = mapped_column(Integer)
    volume_type: Mapped[str | None] = mapped_column(NAME)
    device_name: Mapped[str | None] = mapped_column(NAME)
    delete_on_termination: Mapped[bool] = mapped_column(Boolean, default=False)
    tag: Mapped[str | None] = mapped_column(NAME)
    attachment_id: Mapped[str | None] = mapped_column(ID)
    #: Whether Nova made the volume for this server (a failed build deletes it again).
    nova_created: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The volume's disk on the datastore (what the driver attaches), once known.
    path: Mapped[str | None] = mapped_column(String(1024))
    created_at: Mapped[datetime] = mapped_column(PreciseDateTime)
