"""The `VolumePort` Nova attaches through, on the real volume domain (SQLite, fake vCenter):
every state transition, what the volume then shows, and the errors the protocol promises."""

from __future__ import annotations

import uuid

import pytest

from tests.unit.test_volume_domain import VolumeDomain, admin, domain, member
from vistack.common.context import RequestContext
from vistack.common.errors import BadRequest, Conflict, NotFound, ServiceUnavailable
from vistack.compute.domain.volume_port import VolumePort
from vistack.volume.domain.models import Volume

__all__ = ["domain"]


def _volume(
    domain: VolumeDomain, context: RequestContext, size: int = 1, **fields: object
) -> Volume:
    volume = domain.services.volumes.create(context, {"volume": {"size": size, **fields}})
    domain.settle()
    return domain.services.volumes.get(context, volume.id)


def test_it_is_the_port_nova_expects(domain: VolumeDomain) -> None:
    port: VolumePort = domain.services.nova_port
    assert port is domain.services.nova_port


def test_show_gives_the_facts_and_hides_other_projects(domain: VolumeDomain) -> None:
    context = member()
    volume = _volume(domain, context, 2, name="data")
    facts = domain.services.nova_port.show(context, volume.id)
    assert (facts.id, facts.name, facts.status, facts.size_gb) == (
        volume.id,
        "data",
        "available",
        2,
    )
    assert facts.path == volume.path and facts.path is not None
    assert facts.path in domain.fake.state.disks
    assert facts.availability_zone == "nova" and not facts.bootable and facts.server_ids == ()
    with pytest.raises(NotFound):
        domain.services.nova_port.show(member(), volume.id)
    with pytest.raises(NotFound):
        domain.services.nova_port.show(context, str(uuid.uuid4()))
    assert domain.services.nova_port.show(admin(), volume.id).id == volume.id


def test_attach_then_detach_walks_cinders_states(domain: VolumeDomain) -> None:
    port, context = domain.services.nova_port, member()
    volume = _volume(domain, context)
    server = str(uuid.uuid4())
    reserved = port.reserve(context, volume.id, server)
    assert (reserved.volume_id, reserved.server_id, reserved.device) == (volume.id, server, None)
    assert reserved.path == volume.path
    shown = domain.services.volumes.get(context, volume.id)
    assert (shown.status, shown.attach_status) == ("attaching", "attaching")
    assert port.show(context, volume.id).server_ids == (server,)

    done = port.complete_attach(reserved.id, "/dev/sdb")
    assert done.device == "/dev/sdb"
    shown = domain.services.volumes.get(context, volume.id)
    assert (shown.status, shown.attach_status) == ("in-use", "attached")
    (attachment,) = shown.attachments
    assert (attachment.id, attachment.server_id, attachment.device) == (
        reserved.id,
        server,
        "/dev/sdb",
    )
    assert attachment.attached_at is not None
    assert port.attachments_of(server) == [done]

    detaching = port.begin_detach(context, volume.id, server)
    assert detaching.id == reserved.id
    assert domain.services.volumes.get(context, volume.id).status == "detaching"
    port.roll_back_detach(detaching.id)
    assert domain.services.volumes.get(context, volume.id).status == "in-use"
    port.begin_detach(context, volume.id, server)
    port.complete_detach(detaching.id)
    shown = domain.services.volumes.get(context, volume.id)
    assert (shown.status, shown.attach_status, shown.attachments) == ("available", "detached", ())
    assert port.attachments_of(server) == []
    port.complete_detach(detaching.id)  # idempotent


def test_unreserve_gives_the_volume_back(domain: VolumeDomain) -> None:
    port, context = domain.services.nova_port, member()
    volume = _volume(domain, context)
    reserved = port.reserve(context, volume.id, "server-1")
    port.unreserve(reserved.id)
    shown = domain.services.volumes.get(context, volume.id)
    assert (shown.status, shown.attachments) == ("available", ())
    port.unreserve(reserved.id)  # idempotent


def test_reserve_refuses_a_volume_that_is_not_free(domain: VolumeDomain) -> None:
    port, context = domain.services.nova_port, member()
    volume = _volume(domain, context)
    reserved = port.reserve(context, volume.id, "server-1")
    with pytest.raises(Conflict, match="already attached to server server-1"):
        port.reserve(context, volume.id, "server-1")
    with pytest.raises(Conflict, match="attaching"):
        port.reserve(context, volume.id, "server-2")
    port.complete_attach(reserved.id, "/dev/sdb")
    with pytest.raises(Conflict, match="in-use"):
        port.reserve(context, volume.id, "server-2")
    with pytest.raises(NotFound):
        port.reserve(context, str(uuid.uuid4()), "server-2")
    with pytest.raises(NotFound):
        port.reserve(member(), volume.id, "server-2")


def test_multiattach_volume_takes_a_second_server(domain: VolumeDomain) -> None:
    port, context = domain.services.nova_port, member()
    with pytest.raises(BadRequest, match="multiattach parameter has been removed"):
        _volume(domain, context, multiattach=True)
    shared = {"multiattach": "<is> True"}
    domain.services.types.create(admin(), {"volume_type": {"name": "ma", "extra_specs": shared}})
    volume = _volume(domain, context, volume_type="ma")
    assert volume.multiattach
    assert domain.fake.state.disks[volume.path or ""].provisioning.value == "eagerZeroedThick"
    first = port.reserve(context, volume.id, "server-1")
    assert first.multiattach
    port.complete_attach(first.id, "/dev/sdb")
    second = port.reserve(context, volume.id, "server-2")
    # The first server keeps it in use while the second one's attachment is made.
    assert domain.services.volumes.get(context, volume.id).status == "in-use"
    port.complete_attach(second.id, "/dev/sdc")
    assert set(port.show(context, volume.id).server_ids) == {"server-1", "server-2"}
    port.begin_detach(context, volume.id, "server-1")
    assert domain.services.volumes.get(context, volume.id).status == "detaching"
    port.complete_detach(first.id)
    assert domain.services.volumes.get(context, volume.id).status == "in-use"
    assert port.show(context, volume.id).server_ids == ("server-2",)
    last = port.begin_detach(context, volume.id, "server-2")
    port.complete_detach(last.id)
    assert domain.services.volumes.get(context, volume.id).status == "available"


def test_begin_detach_errors(domain: VolumeDomain) -> None:
    port, context = domain.services.nova_port, member()
    volume = _volume(domain, context)
    with pytest.raises(NotFound):
        port.begin_detach(context, volume.id, "server-1")
    reserved = port.reserve(context, volume.id, "server-1")
    with pytest.raises(Conflict, match="attaching"):
        port.begin_detach(context, volume.id, "server-1")
    with pytest.raises(NotFound):
        port.complete_attach(str(uuid.uuid4()), "/dev/sdb")
    port.complete_attach(reserved.id, "/dev/sdb")
    with pytest.raises(NotFound):
        port.begin_detach(context, volume.id, "server-2")


def test_an_attached_volume_cannot_be_deleted(domain: VolumeDomain) -> None:
    port, context = domain.services.nova_port, member()
    volume = _volume(domain, context)
    attachment = port.reserve(context, volume.id, "server-1")
    port.complete_attach(attachment.id, "/dev/sdb")
    with pytest.raises(Conflict, match="attached"):
        port.delete(context, volume.id)
    port.begin_detach(context, volume.id, "server-1")
    port.complete_detach(attachment.id)
    port.delete(context, volume.id)
    domain.settle()
    with pytest.raises(NotFound):
        port.show(context, volume.id)
    assert volume.path not in domain.fake.state.disks


def test_create_for_boot_builds_in_the_callers_thread(domain: VolumeDomain) -> None:
    context = member()
    facts = domain.services.nova_port.create_for_boot(context, size_gb=2, name="root")
    assert (facts.status, facts.size_gb, facts.name) == ("available", 2, "root")
    assert facts.path in domain.fake.state.disks


def test_create_for_boot_over_quota_is_a_conflict_and_leaves_nothing(
    domain: VolumeDomain,
) -> None:
    context = member()
    with pytest.raises(Conflict, match="gigabytes"):
        domain.services.nova_port.create_for_boot(context, size_gb=21, name="big")
    volumes, _more = domain.services.volumes.list_volumes(context, {})
    assert volumes == []


def test_create_for_boot_without_room_leaves_nothing(domain: VolumeDomain) -> None:
    context = member()
    domain.settings.volume.quota_gigabytes = -1
    biggest = max(d.capacity_gb for d in domain.fake.state.datastores.values())
    disks = set(domain.fake.state.disks)
    with pytest.raises(ServiceUnavailable, match="No valid backend"):
        domain.services.nova_port.create_for_boot(context, size_gb=biggest + 1, name="huge")
    volumes, _more = domain.services.volumes.list_volumes(context, {})
    assert volumes == []
    assert set(domain.fake.state.disks) == disks


def test_create_for_boot_unknown_type_or_image(domain: VolumeDomain) -> None:
    context = member()
    with pytest.raises(NotFound):
        domain.services.nova_port.create_for_boot(
            context, size_gb=1, name="x", volume_type="no-such-type"
        )
    with pytest.raises(BadRequest):  # no image service in this domain
        domain.services.nova_port.create_for_boot(context, size_gb=1, name="x", image_id="img")


def test_racing_reserves_give_the_volume_to_one_server(domain: VolumeDomain) -> None:
    import threading

    port, context = domain.services.nova_port, member()
    volume = _volume(domain, context)
    outcomes: list[str] = []

    def reserve(server: str) -> None:
        try:
            port.reserve(context, volume.id, server)
            outcomes.append("reserved")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=reserve, args=(f"server-{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict"] * 7 + ["reserved"]
    assert len(port.show(context, volume.id).server_ids) == 1
