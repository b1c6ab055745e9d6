"""The attach and detach state machine, shared by Nova's port and the legacy volume actions.

A volume's status follows its attachments: `attaching` while one is reserved, `in-use` while
one is attached, `detaching` while one is being removed, `available` when none is left. Every
change happens in the caller's transaction on a row read `FOR UPDATE`, so two racing
attaches of one volume cannot both succeed.
"""

from __future__ import annotations

import uuid

from vistack.common.clock import utcnow
from vistack.common.errors import Conflict, NotFound
from vistack.volume.db import queries
from vistack.volume.db.store import VolumeUnit
from vistack.volume.db.tables import VolumeAttachmentRow, VolumeRow
from vistack.volume.domain.models import (
    ATTACHED,
    ATTACHING,
    AVAILABLE,
    DETACHED,
    DETACHING,
    IN_USE,
    RESERVED,
)

# Attachment statuses.
ATT_RESERVED = "reserved"
#: The attachments API's step between reserved and attached: a connector was given (3.27).
ATT_ATTACHING = "attaching"
ATT_ATTACHED = "attached"
ATT_DETACHING = "detaching"


def locked_volume(unit: VolumeUnit, volume_id: str) -> VolumeRow:
    row = queries.volume(unit, volume_id, lock=True)
    if row is None:
        raise NotFound(f"Volume {volume_id} could not be found.")
    return row


def settle(unit: VolumeUnit, volume: VolumeRow) -> None:
    """Derive the volume's status from its attachments (after one was added or removed)."""
    attachments = queries.attachments_of_volume(unit, volume.id)
    states = {a.attach_status for a in attachments}
    if not attachments:
        volume.status, volume.attach_status = AVAILABLE, DETACHED
    elif ATT_DETACHING in states:
        volume.status, volume.attach_status = DETACHING, DETACHING
    elif ATT_ATTACHED in states:
        volume.status, volume.attach_status = IN_USE, ATTACHED
    else:
        volume.status, volume.attach_status = ATTACHING, ATTACHING
    volume.updated_at = utcnow()
    unit.flush()


def reserve(
    unit: VolumeUnit, volume: VolumeRow, server_id: str | None, host_name: str | None = None
) -> VolumeAttachmentRow:
    """A reserved attachment of `volume` for `server_id`: the volume becomes `attaching`.

    :raises Conflict: not available (nor in-use and multiattach), or already on that server.
    """
    attachments = queries.attachments_of_volume(unit, volume.id)
    if server_id is not None and any(a.server_id == server_id for a in attachments):
        raise Conflict(f"Volume {volume.id} is already attached to server {server_id}.")
    free = volume.status in (AVAILABLE, RESERVED) or (
        volume.status == ATTACHING and not attachments
    )
    shared = volume.multiattach and volume.status in (IN_USE, ATTACHING, DETACHING)
    if not (free or shared):
        raise Conflict(
            f"Volume {volume.id} status must be available to attach (or in-use with "
            f"multiattach), but it is {volume.status}."
        )
    now = utcnow()
    row = VolumeAttachmentRow(
        id=str(uuid.uuid4()),
        volume_id=volume.id,
        server_id=server_id,
        host_name=host_name,
        device=None,
        attach_status=ATT_RESERVED,
        mode="ro" if volume.readonly else "rw",
        attached_at=None,
        created_at=now,
    )
    unit.add(row)
    settle(unit, volume)
    return row


def complete(unit: VolumeUnit, attachment: VolumeAttachmentRow, device: str | None) -> None:
    """The disk is on the VM: the attachment is attached and the volume `in-use`."""
    volume = locked_volume(unit, attachment.volume_id)
    attachment.attach_status = ATT_ATTACHED
    attachment.device = device
    attachment.attached_at = utcnow()
    unit.flush()
    settle(unit, volume)


def remove(unit: VolumeUnit, attachment: VolumeAttachmentRow) -> None:
    """Drop the attachment; the volume settles (`available` when it was the last)."""
    volume = locked_volume(unit, attachment.volume_id)
    unit.delete(attachment)
    settle(unit, volume)


def begin_detach(unit: VolumeUnit, volume: VolumeRow, server_id: str | None) -> VolumeAttachmentRow:
    """Start detaching the attachment to `server_id` (the only one when None).

    :raises NotFound: the volume is not attached to that server.
    :raises Conflict: the volume is not in-use (e.g. still attaching), or several attachments
        exist and none was named.
    """
    attachments = [
        a
        for a in queries.attachments_of_volume(unit, volume.id)
        if server_id is None or a.server_id == server_id
    ]
    if not attachments:
        raise NotFound(f"Volume {volume.id} is not attached to server {server_id}.")
    if len(attachments) > 1:
        raise Conflict(f"Volume {volume.id} has several attachments: name the server.")
    attachment = attachments[0]
    # A multiattach volume is `attaching` or `detaching` while another server's attachment
    # comes or goes; this server's attachment is what must be attached.
    statuses = (IN_USE, ATTACHING, DETACHING) if volume.multiattach else (IN_USE,)
    if volume.status not in statuses or attachment.attach_status != ATT_ATTACHED:
        raise Conflict(
            f"Volume {volume.id} status must be in-use to detach, but it is {volume.status}."
        )
    attachment.attach_status = ATT_DETACHING
    unit.flush()
    settle(unit, volume)
    return attachment


def roll_back_detach(unit: VolumeUnit, attachment: VolumeAttachmentRow) -> None:
    volume = locked_volume(unit, attachment.volume_id)
    attachment.attach_status = ATT_ATTACHED
    unit.flush()
    settle(unit, volume)
