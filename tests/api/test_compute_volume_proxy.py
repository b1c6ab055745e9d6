"""Nova's proxies to Cinder (`os-volumes`, `os-snapshots`, gone at 2.36) and attachments
through the real block storage service (its `VolumePort`), through HTTP on the fake vCenter:
a volume made through Nova's proxy is Cinder's own, attaches to a server, shows the server in
its attachments, and goes away again."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tests.api.compute_env import Env, active_server, env_fixture
from tests.api.compute_volume_env import cinder_fixture
from tests.api.conftest import ComputeApi, VolumeApi
from tests.api.helpers import persona_fixture
from tests.api.test_compute_servers import fault

member = persona_fixture("compute_api")
env = env_fixture("10.42.0.0/24")
cinder = cinder_fixture()


def until(check: Callable[[], Any]) -> Any:
    deadline = time.monotonic() + 20
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.02)


def volume_status(api: ComputeApi, token: str, volume_id: str) -> str:
    response = api.get(f"/os-volumes/{volume_id}", token=token)
    assert response.status_code == 200, response.text
    status: str = response.json()["volume"]["status"]
    return status


def test_a_volume_made_through_the_proxy_attaches_and_goes_away(
    compute_api: ComputeApi, env: Env, cinder: VolumeApi
) -> None:
    token = env.member.token
    made = compute_api.post(
        "/os-volumes", token=token, json={"volume": {"size": 1, "display_name": "data"}}
    )
    assert made.status_code == 200, made.text
    volume = made.json()["volume"]
    assert volume["displayName"] == "data" and volume["size"] == 1
    assert volume["attachments"] == [{}]
    assert until(lambda: volume_status(compute_api, token, volume["id"]) == "available")
    listed = compute_api.get("/os-volumes/detail", token=token).json()["volumes"]
    assert volume["id"] in [v["id"] for v in listed]
    server_id = active_server(compute_api, env)
    body = {"volumeAttachment": {"volumeId": volume["id"]}}
    path = f"/servers/{server_id}/os-volume_attachments"
    attached = compute_api.post(path, token=token, json=body)
    assert attached.status_code == 200, attached.text
    shown = compute_api.get(f"/os-volumes/{volume['id']}", token=token).json()["volume"]
    assert shown["status"] == "in-use"
    assert shown["attachments"][0]["serverId"] == server_id
    assert compute_api.delete(f"{path}/{volume['id']}", token=token).status_code == 202
    assert volume_status(compute_api, token, volume["id"]) == "available"
    snap = compute_api.post(
        "/os-snapshots",
        token=token,
        json={"snapshot": {"volume_id": volume["id"], "display_name": "s"}},
    )
    if snap.status_code == 200:
        snapshot = snap.json()["snapshot"]
        assert snapshot["volumeId"] == volume["id"] and snapshot["displayName"] == "s"
        listed = compute_api.get("/os-snapshots/detail", token=token).json()["snapshots"]
        assert snapshot["id"] in [s["id"] for s in listed]
        assert until(
            lambda: (
                compute_api.get(f"/os-snapshots/{snapshot['id']}", token=token).json()["snapshot"][
                    "status"
                ]
                == "available"
            )
        )
        gone = compute_api.delete(f"/os-snapshots/{snapshot['id']}", token=token)
        assert gone.status_code == 202, gone.text
        assert until(
            lambda: (
                compute_api.get(f"/os-snapshots/{snapshot['id']}", token=token).status_code == 404
            )
        )
    else:  # the block storage service's own refusal, in Nova's fault format
        assert snap.status_code in (400, 501, 503), snap.text
    assert compute_api.delete(f"/os-volumes/{volume['id']}", token=token).status_code == 202
    assert until(
        lambda: compute_api.get(f"/os-volumes/{volume['id']}", token=token).status_code == 404
    )


def test_the_proxies_are_gone_from_2_36_and_need_the_service(
    compute_api: ComputeApi, env: Env, cinder: VolumeApi
) -> None:
    token = env.member.token
    late = {"OpenStack-API-Version": "compute 2.36"}
    for path in ("/os-volumes", "/os-volumes/detail", "/os-snapshots"):
        fault(compute_api.get(path, token=token, headers=late), 404, "itemNotFound")
    body = {"volume": {"size": 1}}
    fault(
        compute_api.post("/os-volumes", token=token, json=body, headers=late), 404, "itemNotFound"
    )
    bad = compute_api.post("/os-volumes", token=token, json={"volume": {"sizes": 1}})
    fault(bad, 400, "badRequest")
    for snapshot in ({"display_name": "no volume"}, {"volume_id": "v", "size": 1}, None):
        bad = compute_api.post("/os-snapshots", token=token, json={"snapshot": snapshot})
        fault(bad, 400, "badRequest")
    unknown_snapshot = "/os-snapshots/8d1e3bb5-0000-4000-8000-000000000006"
    fault(compute_api.get(unknown_snapshot, token=token), 404, "itemNotFound")
    unknown = compute_api.get("/os-volumes/8d1e3bb5-0000-4000-8000-000000000005", token=token)
    fault(unknown, 404, "itemNotFound")
    compute = compute_api.cloud.compute
    proxy = compute.volume_proxy
    assert proxy is not None
    proxy.connect(None, None)
    try:
        fault(compute_api.get("/os-volumes", token=token), 503, "serviceUnavailable")
        fault(compute_api.get("/os-snapshots", token=token), 503, "serviceUnavailable")
    finally:
        volume = compute_api.cloud.volume
        assert volume is not None
        proxy.connect(volume.volumes, volume.snapshots)


def test_os_volumes_boot_creates_a_server(
    compute_api: ComputeApi, env: Env, cinder: VolumeApi
) -> None:
    server = {
        "name": "old-name",
        "imageRef": env.image_id,
        "flavorRef": "1",
        "networks": [{"uuid": env.network["id"]}],
    }
    response = compute_api.post("/os-volumes_boot", token=env.member.token, json={"server": server})
    assert response.status_code == 202, response.text
    assert response.json()["server"]["id"]


def test_a_server_boots_from_a_volume_cinder_makes_of_an_image(
    compute_api: ComputeApi, env: Env, cinder: VolumeApi
) -> None:
    token = env.member.token
    mapping = {
        "source_type": "image",
        "destination_type": "volume",
        "uuid": env.image_id,
        "boot_index": 0,
        "volume_size": 1,
        "delete_on_termination": True,
    }
    server = {
        "name": "bfv-cinder",
        "flavorRef": "1",
        "networks": [{"uuid": env.network["id"]}],
        "block_device_mapping_v2": [mapping],
    }
    response = compute_api.post("/servers", token=token, json={"server": server})
    assert response.status_code == 202, response.text
    server_id = response.json()["server"]["id"]

    def shown() -> dict[str, Any]:
        found: dict[str, Any] = compute_api.get(f"/servers/{server_id}", token=token).json()
        server: dict[str, Any] = found["server"]
        return server

    assert until(lambda: shown()["status"] in ("ACTIVE", "ERROR"))
    view = shown()
    assert view["status"] == "ACTIVE", view.get("fault")
    (attached,) = view["os-extended-volumes:volumes_attached"]
    volume = compute_api.get(f"/os-volumes/{attached['id']}", token=token).json()["volume"]
    assert volume["status"] == "in-use" and volume["attachments"][0]["device"] == "/dev/sda"
    vm = compute_api.fake.drivers().compute.get_vm(server_id)
    assert "volumes/" in vm.disks[0].path
    assert compute_api.delete(f"/servers/{server_id}", token=token).status_code == 204
    assert until(
        lambda: compute_api.get(f"/os-volumes/{attached['id']}", token=token).status_code == 404
    )
