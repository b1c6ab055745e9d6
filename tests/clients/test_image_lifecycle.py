"""Images across a crash: `vistack up` killed in the middle of an upload comes back with the
image retryable (`queued`), and the retried upload lands on the datastore."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.clients.test_lifecycle import admin_token, cloud_on
from tests.conftest import RunningCloud

pytestmark = pytest.mark.clients


def image_url(cloud: RunningCloud, path: str) -> str:
    return cloud.url.replace("/identity/v3", "/image") + path


def status(cloud: RunningCloud, token: str, image_id: str) -> str:
    response = httpx.get(
        image_url(cloud, f"/v2/images/{image_id}"), headers={"X-Auth-Token": token}, timeout=30
    )
    assert response.status_code == 200, response.text
    value: str = response.json()["status"]
    return value


def test_a_crash_during_upload_leaves_the_image_retryable(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    release = threading.Event()

    def slow_body() -> Iterator[bytes]:
        yield os.urandom(1 << 20)
        release.wait(60)  # the server dies while waiting for the rest
        yield b""

    with cloud_on(data_dir) as cloud:
        token = admin_token(cloud)
        headers = {"X-Auth-Token": token}
        created = httpx.post(
            image_url(cloud, "/v2/images"),
            json={"name": "crash", "disk_format": "raw", "container_format": "bare"},
            headers=headers,
            timeout=30,
        )
        image_id = created.json()["id"]

        def send() -> None:
            with contextlib.suppress(httpx.HTTPError):  # the server is killed under it
                httpx.put(
                    image_url(cloud, f"/v2/images/{image_id}/file"),
                    content=slow_body(),
                    headers={**headers, "Content-Type": "application/octet-stream"},
                    timeout=60,
                )

        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        deadline = time.monotonic() + 30
        while status(cloud, token, image_id) != "saving":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        cloud.process.kill()
        cloud.process.wait(30)
        release.set()
        sender.join(30)

    with cloud_on(data_dir) as cloud:
        token = admin_token(cloud)
        assert status(cloud, token, image_id) == "queued"
        data = os.urandom(300_000)
        response = httpx.put(
            image_url(cloud, f"/v2/images/{image_id}/file"),
            content=data,
            headers={"X-Auth-Token": token, "Content-Type": "application/octet-stream"},
            timeout=60,
        )
        assert response.status_code == 204, response.text
        download = httpx.get(
            image_url(cloud, f"/v2/images/{image_id}/file"),
            headers={"X-Auth-Token": token},
            timeout=60,
        )
        assert download.content == data
