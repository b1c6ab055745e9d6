"""Attachment reads the attachments API needs beyond `queries.py`: every attachment with its
volume's project, for listing across volumes."""

from __future__ import annotations

from sqlalchemy import select

from vistack.volume.db.store import VolumeUnit
from vistack.volume.db.tables import VolumeAttachmentRow, VolumeRow


def attachments_with_project(
    unit: VolumeUnit, project_id: str | None
) -> list[tuple[VolumeAttachmentRow, str]]:
    """Attachments of the project's volumes (every project's with None), with the project,
    oldest first."""
    query = (
        select(VolumeAttachmentRow, VolumeRow.project_id)
        .join(VolumeRow, VolumeRow.id == VolumeAttachmentRow.volume_id)
        .order_by(VolumeAttachmentRow.created_at, VolumeAttachmentRow.id)
    )
    if project_id is not None:
        query = query.where(VolumeRow.project_id == project_id)
    return [(row, str(project)) for row, project in unit.session.execute(query).all()]
