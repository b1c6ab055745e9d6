"""Domain rules of the attachments API and of user messages, on a migrated SQLite database
and the fake vCenter: the states an attachment passes, its connection info, the refusals,
Cinder's message identifiers, and the expiry of messages."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.unit.test_volume_domain import VolumeDomain, admin, domain, member
from vistack.common.errors import BadRequest, NotFound
from vistack.drivers.errors import NoCapacityError, TransientError
from vistack.volume.domain import messages
from vistack.volume.domain.attachment_service import CreateAttachment, create_request
from vistack.volume.domain.placement import NoValidDatastore

__all__ = ["domain"]


def make_volume(domain: VolumeDomain, context: object) -> str:
    volume = domain.services.volumes.create(context, {"volume": {"size": 1}})  # type: ignore[arg-type]
    domain.settle()
    return volume.id


def test_event_ids_and_texts_are_cinders() -> None:
    no_room = messages.build_failed(NoCapacityError("full"), from_image=False)
    assert no_room.event_id == "VOLUME_VOLUME_001_003"
    assert no_room.user_message == (
        "schedule allocate volume: Could not find any available weighted backend."
    )
    image = messages.build_failed(TransientError("gone"), from_image=True)
    assert image.event_id == "VOLUME_VOLUME_005_001"
    no_room_for_image = messages.build_failed(NoValidDatastore("full"), from_image=True)
    assert no_room_for_image.event_id == "VOLUME_VOLUME_001_003"
    assert messages.SNAPSHOT_CREATE_FAILED.event_id == "VOLUME_VOLUME_SNAPSHOT_009_013"
    assert messages.EXTEND_FAILED.event_id == "VOLUME_VOLUME_007_010"


def test_create_request_checks_its_body() -> None:
    with pytest.raises(BadRequest, match="volume_uuid"):
        create_request({"attachment": {"instance_uuid": "x"}}, with_mode=True)
    with pytest.raises(BadRequest, match="additional properties"):
        create_request({"attachment": {"volume_uuid": "v", "mode": "ro"}}, with_mode=False)
    with pytest.raises(BadRequest, match="'rw' or 'ro'"):
        create_request({"attachment": {"volume_uuid": "v", "mode": "rx"}}, with_mode=True)
    with pytest.raises(BadRequest, match="connector"):
        create_request({"attachment": {"volume_uuid": "v", "connector": "h"}}, with_mode=True)
    asked = create_request({"attachment": {"volume_uuid": "v", "mode": "ro"}}, with_mode=True)
    assert asked == CreateAttachment("v", None, None, "ro")


def test_attachment_states_follow_the_volume(domain: VolumeDomain) -> None:
    context = member()
    volume_id = make_volume(domain, context)
    service = domain.services.attachment_api
    reserved = service.create(context, CreateAttachment(volume_id, "server-1", None, None))
    assert reserved.status == "reserved" and reserved.connection_info is None
    assert domain.services.volumes.get(context, volume_id).status == "attaching"
    connected = service.update(context, reserved.id, {"host": "esx"})
    assert connected.status == "attaching"
    assert connected.connection_info is not None
    assert connected.connection_info["driver_volume_type"] == "vmdk"
    service.complete(context, reserved.id)
    service.complete(context, reserved.id)  # completing twice is no error
    assert service.get(context, reserved.id).status == "attached"
    assert domain.services.volumes.get(context, volume_id).status == "in-use"
    with pytest.raises(BadRequest, match="attached"):
        service.update(context, reserved.id, {"host": "esx"})
    # The Nova port sees the same record.
    [facts] = domain.services.nova_port.attachments_of("server-1")
    assert facts.id == reserved.id
    assert service.delete(context, reserved.id) == []
    assert domain.services.volumes.get(context, volume_id).status == "available"
    with pytest.raises(NotFound):
        service.get(context, reserved.id)


def test_servers_are_looked_up(domain: VolumeDomain) -> None:
    context = member()
    volume_id = make_volume(domain, context)
    service = domain.services.attachment_api

    def nova(_context: object, server_id: str) -> object:
        raise NotFound(f"Server {server_id} could not be found.")

    service.connect_servers(nova)
    with pytest.raises(NotFound, match="Instance server-9"):
        service.create(context, CreateAttachment(volume_id, "server-9", None, None))
    assert domain.services.volumes.get(context, volume_id).status == "available"


def test_read_only_refusal_rolls_back_and_records(domain: VolumeDomain) -> None:
    context = member()
    volume_id = make_volume(domain, context)
    domain.services.actions.update_readonly_flag(
        context, volume_id, {"os-update_readonly_flag": {"readonly": True}}
    )
    service = domain.services.attachment_api
    reserved = service.create(context, CreateAttachment(volume_id, "server-1", None, None))
    with pytest.raises(BadRequest, match="read-only"):
        service.update(context, reserved.id, {"host": "esx", "mode": "rw"})
    assert service.get(context, reserved.id).status == "reserved"  # nothing half-written
    found, _more = domain.services.messages.list_messages(context, {}, paged=False)
    assert [m.event_id for m in found] == ["VOLUME_VOLUME_004_005"]
    assert found[0].request_id == context.request_id


def test_expired_messages_are_pruned(domain: VolumeDomain) -> None:
    context = member()
    store = domain.services.volumes.store
    with store.transaction() as unit:
        old = messages.record(
            unit,
            messages.EXTEND_FAILED,
            project_id=context.project_id or "",
            resource_uuid=None,
            ttl=timedelta(seconds=-1),
        )
        old_id = old.id
        messages.record(
            unit, messages.EXTEND_FAILED, project_id=context.project_id or "", resource_uuid=None
        )
    found, _more = domain.services.messages.list_messages(context, {}, paged=True)
    assert len(found) == 1 and found[0].id != old_id
    assert found[0].guaranteed_until - found[0].created_at == messages.DEFAULT_TTL
    with pytest.raises(NotFound):
        domain.services.messages.get(context, old_id)
    everyone, _more = domain.services.messages.list_messages(
        admin(), {"all_tenants": "1"}, paged=True
    )
    assert [m.id for m in everyone] == [found[0].id]
