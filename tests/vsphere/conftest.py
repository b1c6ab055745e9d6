"""Fixtures for the vSphere layer's tests: a fresh embedded vCenter per test module.

The launcher is built once per run (`tools/vcsim/build.sh`, cached across runs) and started per
module (~40 ms), so modules never see each other's objects. Tests skip only when the Go toolchain
is missing and cannot be installed; any other build failure is a failure.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from vistack.config import EmbeddedVCenterSettings
from vistack.vsphere.embedded import EmbeddedVCenter, EmbeddedVCenterError, build_launcher
from vistack.vsphere.endpoint import VCenterEndpoint
from vistack.vsphere.properties import retrieve
from vistack.vsphere.session import Client, VCenterSession
from vistack.vsphere.tasks import wait_for_task
from vistack.vsphere.vmomi import vim

#: A small model: enough for two clusters, quick to start.
SMALL = EmbeddedVCenterSettings(hosts_per_cluster=2)


def _go_available() -> bool:
    return shutil.which("go") is not None or Path("/usr/lib/go/bin/go").exists()


@pytest.fixture(scope="session")
def launcher_binary() -> Path:
    try:
        return build_launcher()
    except EmbeddedVCenterError as exc:
        if not _go_available():
            reason = f"the Go toolchain is missing and could not be installed: {exc.message}"
            print(f"\nvsphere tests skipped: {reason}")
            pytest.skip(reason)
        raise


StartVcsim = Callable[..., EmbeddedVCenter]


@pytest.fixture(scope="module")
def start_vcsim(
    launcher_binary: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StartVcsim]:
    """Start extra simulators for this module (own data dirs); all stopped at module end."""
    started: list[EmbeddedVCenter] = []

    def start(
        settings: EmbeddedVCenterSettings = SMALL, listen: str = "127.0.0.1:0"
    ) -> EmbeddedVCenter:
        vcsim = EmbeddedVCenter(
            settings,
            data_dir=tmp_path_factory.mktemp("vcsim"),
            binary=launcher_binary,
            listen=listen,
        )
        started.append(vcsim)
        vcsim.start()
        return vcsim

    yield start
    for vcsim in started:
        vcsim.stop()


@pytest.fixture(scope="module")
def vcsim(start_vcsim: StartVcsim) -> EmbeddedVCenter:
    """The module's simulator."""
    return start_vcsim()


@pytest.fixture(scope="module")
def endpoint(vcsim: EmbeddedVCenter) -> VCenterEndpoint:
    assert vcsim.endpoint is not None
    return vcsim.endpoint


@pytest.fixture
def session(endpoint: VCenterEndpoint) -> Iterator[VCenterSession]:
    with VCenterSession(endpoint, keepalive_seconds=0) as session:
        yield session


def create_vm(client: Client, name: str, *, power_on: bool = False) -> str:
    """A minimal VM in the first cluster's root pool, on LocalDS_0; its moref."""
    (dc,) = retrieve(client, "Datacenter", ["vmFolder"])
    cluster = sorted(
        retrieve(client, "ClusterComputeResource", ["name", "resourcePool"]),
        key=lambda c: str(c.props["name"]),
    )[0]
    spec = vim.vm.ConfigSpec(
        name=name,
        numCPUs=1,
        memoryMB=64,
        guestId="otherGuest",
        files=vim.vm.FileInfo(vmPathName="[LocalDS_0]"),
    )
    folder = client.moref("Folder", dc.props["vmFolder"])
    pool = client.moref("ResourcePool", cluster.props["resourcePool"])
    vm: str = wait_for_task(client, folder.CreateVM_Task(spec, pool), 30)
    if power_on:
        wait_for_task(client, client.moref("VirtualMachine", vm).PowerOnVM_Task(), 30)
    return vm
