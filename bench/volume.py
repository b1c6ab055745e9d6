"""Cinder on the embedded vCenter: a volume's create + attach + detach + delete cycle through
the API against the same vSphere calls made raw.

Why this cycle: it is Rally's `CinderVolumes.create_and_attach_volume` (create, attach to a
server, detach, delete), what a user waits on when giving a server a disk. The raw pyVmomi
sequence is the floor vSphere sets for it, so the ratio between the two is the control
plane's own cost (the API, the database, the bus, Nova asking Cinder, the driver):

    CreateVirtualDisk_Task   (a 1 GB thin disk under the datastore's volumes/ folder)
    ReconfigVM_Task          (add the existing disk on the VM's SCSI controller)
    RetrievePropertiesEx     (the VM's devices: the new disk's key, for the removal)
    ReconfigVM_Task          (remove the disk, keeping the file)
    DeleteVirtualDisk_Task

What is measured, in one run against one fresh `vistack up` (dvs networks, bcrypt cost 4,
access log off) and its embedded vCenter, with one server booted once to attach to:

* **API**: `POST /volumes` (1 GB) and wait for `available`; Nova's `POST
  /servers/{id}/os-volume_attachments` and wait for `in-use`; `DELETE` of the attachment and
  wait for `available`; `DELETE /volumes/{id}` and wait for it to be gone. One watcher thread
  reads every volume's status with `GET /volumes/detail` every 10 ms for all workers;
* **raw**: the five calls above with pyVmomi on each worker's own connection (bench/vsphere.py's
  `Raw`), against the same VM, each worker on its own SCSI unit;

* **the floor**: the raw cycle plus what four API steps cannot do without, with no
  control-plane logic at all: four authenticated requests (`GET /types`: token, one read, one
  answer) and four waits of the watcher (half its 10 ms poll plus one list). Its ratio to the
  raw cycle is the best any control plane could reach in this bench;

`--cycles` (100) cycles at concurrency 1 and 8, raw and API interleaved per level. The target
(issue 7, acceptance 4): the API cycle at most 1.5 times the raw one at concurrency 1. Nothing
is asserted: the figures and the verdict are printed. `--set` passes settings to the server,
e.g. the simulator's task times: `--set VISTACK_EMBEDDED_VCENTER_METHOD_DELAYS=
CreateVirtualDisk_Task:100,ReconfigVM_Task:100,DeleteVirtualDisk_Task:50`.

Run: `.venv/bin/python bench/volume.py [--cycles 100] [--concurrency 1 8]`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from compute import WATCH_POLL, Api, Watcher, login, prepare, request_p50
from vistack_process import log, running_vistack
from vsphere import Raw

from vistack.drivers.models import TemplateRef
from vistack.vsphere.embedded import read_endpoint_file
from vistack.vsphere.vmomi import vim, vmodl

PropertyCollector = vmodl.query.PropertyCollector
PHASES = ("create", "attach", "detach", "delete")
#: SCSI units the raw workers use (7 is the controller's own; 0 is the root disk).
RAW_UNITS = (1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15)
GB_KB = 1024 * 1024


class VolumeWatcher:
    """Every volume's status from one `GET /volumes/detail` every 10 ms. A status counts only
    from a poll that started after the caller's request, so a stale answer never ends a wait;
    a volume is gone when such a poll no longer lists it."""

    def __init__(self, api: Api) -> None:
        self._api = api
        self.path = f"/volume/v3/{api.project_id}/volumes/detail"
        self._statuses: dict[str, str] = {}
        self._polled_at = 0.0
        self._changed = threading.Condition()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stopped.is_set():
            asked = time.perf_counter()
            status, body = self._api.call("GET", self.path)
            if status == 200:
                with self._changed:
                    self._statuses = {v["id"]: v["status"] for v in body["volumes"]}
                    self._polled_at = asked
                    self._changed.notify_all()
            time.sleep(WATCH_POLL)

    def wait(self, volume_id: str, status: str | None, since: float) -> None:
        """Until a poll started after `since` shows the volume in `status` (None: gone)."""
        with self._changed:
            while True:
                if self._polled_at >= since:
                    current = self._statuses.get(volume_id)
                    if current == status:
                        return
                    if current is not None and current.startswith("error"):
                        raise RuntimeError(f"volume {volume_id} went to {current}")
                if not self._changed.wait(timeout=60):
                    raise RuntimeError(f"volume {volume_id} never reached {status}")

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()


def api_cycle(api: Api, watcher: VolumeWatcher, server_id: str) -> dict[str, float]:
    """One volume through create, attach, detach and delete; seconds per phase."""
    times: dict[str, float] = {}
    volumes = f"/volume/v3/{api.project_id}/volumes"
    attachments = f"/compute/v2.1/servers/{server_id}/os-volume_attachments"
    started = time.perf_counter()
    status, body = api.call("POST", volumes, {"volume": {"size": 1, "name": "bench"}})
    if status != 202:
        raise RuntimeError(f"volume create answered {status}: {body}")
    volume_id = body["volume"]["id"]
    watcher.wait(volume_id, "available", started)
    times["create"] = time.perf_counter() - started
    mark = time.perf_counter()
    status, body = api.call("POST", attachments, {"volumeAttachment": {"volumeId": volume_id}})
    if status != 200:
        raise RuntimeError(f"attach answered {status}: {body}")
    watcher.wait(volume_id, "in-use", mark)
    times["attach"] = time.perf_counter() - mark
    mark = time.perf_counter()
    status, body = api.call("DELETE", f"{attachments}/{volume_id}")
    if status != 202:
        raise RuntimeError(f"detach answered {status}: {body}")
    watcher.wait(volume_id, "available", mark)
    times["detach"] = time.perf_counter() - mark
    mark = time.perf_counter()
    status, body = api.call("DELETE", f"{volumes}/{volume_id}")
    if status != 202:
        raise RuntimeError(f"volume delete answered {status}: {body}")
    watcher.wait(volume_id, None, mark)
    times["delete"] = time.perf_counter() - mark
    times["cycle"] = time.perf_counter() - started
    return times


class RawDisks:
    """One worker's connection (`Raw`, whose "template" is the server's VM) and SCSI unit."""

    def __init__(self, raw: Raw, datastore: str, controller: int, unit: int) -> None:
        self.raw = raw
        self.datastore = datastore
        self.controller = controller
        self.unit = unit

    def cycle(self) -> dict[str, float]:
        raw, vm = self.raw, self.raw.template
        times: dict[str, float] = {}
        path = f"[{self.datastore}] volumes/raw-{uuid.uuid4().hex[:12]}.vmdk"
        started = time.perf_counter()
        spec = vim.VirtualDiskManager.FileBackedVirtualDiskSpec(
            capacityKb=GB_KB, adapterType="lsiLogic", diskType="thin"
        )
        manager = raw.content.virtualDiskManager
        raw.wait(manager.CreateVirtualDisk_Task(name=path, datacenter=raw.datacenter, spec=spec))
        times["create"] = time.perf_counter() - started
        mark = time.perf_counter()
        disk = vim.vm.device.VirtualDisk(
            key=-1,
            controllerKey=self.controller,
            unitNumber=self.unit,
            capacityInKB=0,
            backing=vim.vm.device.VirtualDisk.FlatVer2BackingInfo(
                fileName=path, diskMode="persistent", thinProvisioned=True
            ),
        )
        add = vim.vm.device.VirtualDeviceSpec(operation="add", device=disk)
        raw.wait(vm.ReconfigVM_Task(spec=vim.vm.ConfigSpec(deviceChange=[add])))
        times["attach"] = time.perf_counter() - mark
        mark = time.perf_counter()
        attached = next(d for d in devices(raw, vm) if _file_of(d) == path)
        remove = vim.vm.device.VirtualDeviceSpec(operation="remove", device=attached)
        raw.wait(vm.ReconfigVM_Task(spec=vim.vm.ConfigSpec(deviceChange=[remove])))
        times["detach"] = time.perf_counter() - mark
        mark = time.perf_counter()
        raw.wait(manager.DeleteVirtualDisk_Task(name=path, datacenter=raw.datacenter))
        times["delete"] = time.perf_counter() - mark
        times["cycle"] = time.perf_counter() - started
        return times


def devices(raw: Raw, vm: Any) -> list[Any]:
    spec = PropertyCollector.FilterSpec(
        objectSet=[PropertyCollector.ObjectSpec(obj=vm, skip=False)],
        propSet=[
            PropertyCollector.PropertySpec(
                type=vim.VirtualMachine, pathSet=["config.hardware.device"]
            )
        ],
    )
    result = raw.content.propertyCollector.RetrievePropertiesEx(
        [spec], PropertyCollector.RetrieveOptions()
    )
    return list(result.objects[0].propSet[0].val)


def _file_of(device: Any) -> str | None:
    backing = getattr(device, "backing", None)
    return (
        getattr(backing, "fileName", None)
        if isinstance(device, vim.vm.device.VirtualDisk)
        else None
    )


def run_level(
    count: int, concurrency: int, one: Callable[[int], dict[str, float]]
) -> dict[str, float]:
    lock = threading.Lock()
    remaining = [count]
    samples: list[dict[str, float]] = []

    def worker(index: int) -> None:
        while True:
            with lock:
                if remaining[0] == 0:
                    return
                remaining[0] -= 1
            times = one(index)
            with lock:
                samples.append(times)

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        for future in [pool.submit(worker, i) for i in range(concurrency)]:
            future.result()
    wall = time.perf_counter() - started
    cycles = sorted(s["cycle"] for s in samples)
    figures = {
        "count": float(len(samples)),
        "cycle_p50_ms": statistics.median(cycles) * 1e3,
        "cycle_p90_ms": cycles[int(0.9 * (len(cycles) - 1))] * 1e3,
        "per_second": len(samples) / wall,
    }
    for phase in PHASES:
        figures[f"{phase}_p50_ms"] = statistics.median(s[phase] for s in samples) * 1e3
    return figures


def boot_server(api: Api, image_id: str, network_id: str) -> str:
    """The server volumes are attached to, booted once and kept."""
    watcher = Watcher(api)
    body = {
        "server": {
            "name": "bench-volumes",
            "imageRef": image_id,
            "flavorRef": "1",
            "networks": [{"uuid": network_id}],
        }
    }
    status, created = api.call("POST", "/compute/v2.1/servers", body)
    if status != 202:
        raise RuntimeError(f"server create answered {status}: {created}")
    server_id = str(created["server"]["id"])
    watcher.wait(server_id, "ACTIVE")
    watcher.stop()
    return server_id


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=100)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="VISTACK_OPTION=VALUE",
        help="a setting for the server (environment form), e.g. "
        "VISTACK_EMBEDDED_VCENTER_METHOD_DELAYS=ReconfigVM_Task:100",
    )
    args = parser.parse_args(argv)
    if max(args.concurrency) > len(RAW_UNITS):
        parser.error(f"at most {len(RAW_UNITS)} workers: the VM has that many free SCSI units")
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="vistack-bench-volume-") as scratch:
        workdir = Path(scratch)
        settings = {"VISTACK_NETWORK_BACKEND": "dvs"}
        settings.update(item.split("=", 1) for item in args.set)
        with running_vistack(workdir, timeout=120, settings=settings) as cloud:
            token, project_id = login(cloud)
            api = Api(cloud, token, project_id)
            image_id, network_id = prepare(api, workdir)
            quota = {"quota_set": {"volumes": -1, "gigabytes": -1}}
            api.call("PUT", f"/volume/v3/{project_id}/os-quota-sets/{project_id}", quota)
            server_id = boot_server(api, image_id, network_id)
            watcher = VolumeWatcher(api)
            api_cycle(api, watcher, server_id)  # warm: the volumes/ folder, Nova's link
            endpoint = read_endpoint_file(cloud.data_dir)
            assert endpoint is not None
            from vistack.vsphere.drivers import vsphere_drivers
            from vistack.vsphere.session import VCenterSession

            with VCenterSession(endpoint, keepalive_seconds=0) as session:
                drivers = vsphere_drivers(session, endpoint)
                vm = drivers.compute.get_vm(server_id)
                cluster = vm.cluster
            first = Raw(endpoint, TemplateRef(vm.id, vm.name, ""), cluster)
            datastore = str(first._one(first.datastore, vim.Datastore, "name"))
            # The raw disks go under the VM's datastore's volumes/ folder, made here once
            # (the driver makes it once per session too, outside the measured calls).
            with contextlib.suppress(vim.fault.FileAlreadyExists):
                first.content.fileManager.MakeDirectory(
                    name=f"[{datastore}] volumes",
                    datacenter=first.datacenter,
                    createParentDirectories=True,
                )
            controller = next(
                d.key
                for d in devices(first, first.template)
                if isinstance(d, vim.vm.device.VirtualSCSIController)
            )
            first.close()
            for concurrency in args.concurrency:
                workers = [
                    RawDisks(
                        Raw(endpoint, TemplateRef(vm.id, vm.name, ""), cluster),
                        datastore,
                        controller,
                        RAW_UNITS[i],
                    )
                    for i in range(concurrency)
                ]

                def raw_side(index: int, workers: list[RawDisks] = workers) -> dict[str, float]:
                    return workers[index].cycle()

                results[f"raw c{concurrency}"] = run_level(args.cycles, concurrency, raw_side)
                log(f"raw c{concurrency}: {results[f'raw c{concurrency}']}")
                if concurrency == 1:
                    watched = request_p50(api, watcher.path)
                    results["floor"] = {
                        "request_ms": request_p50(api, f"/volume/v3/{project_id}/types"),
                        "watch_ms": WATCH_POLL * 1e3 / 2 + watched,
                    }
                    log(f"floor: {results['floor']}")
                for worker in workers:
                    worker.raw.close()

                def api_side(_index: int) -> dict[str, float]:
                    return api_cycle(api, watcher, server_id)

                results[f"api c{concurrency}"] = run_level(args.cycles, concurrency, api_side)
                log(f"api c{concurrency}: {results[f'api c{concurrency}']}")
            watcher.stop()
    report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


def report(results: dict[str, Any]) -> None:
    header = f"{'row':<8} {'cycle p50':>10} {'cycle p90':>10} {'cycles/s':>9}"
    header += "".join(f" {phase + ' p50':>11}" for phase in PHASES)
    print(header + "   (ms)")
    for key, figures in results.items():
        if "cycle_p50_ms" not in figures:
            continue
        line = (
            f"{key:<8} {figures['cycle_p50_ms']:>10.1f} {figures['cycle_p90_ms']:>10.1f} "
            f"{figures['per_second']:>9.1f}"
        )
        line += "".join(f" {figures[f'{phase}_p50_ms']:>11.1f}" for phase in PHASES)
        print(line)
    if "api c1" in results and "raw c1" in results:
        ratio = results["api c1"]["cycle_p50_ms"] / results["raw c1"]["cycle_p50_ms"]
        verdict = "met" if ratio <= 1.5 else "NOT MET"
        print(f"API cycle / raw cycle at c1: {ratio:.2f}x (target <= 1.5x): {verdict}")
        floor = results.get("floor")
        if floor is not None:
            raw_cycle = results["raw c1"]["cycle_p50_ms"]
            steps = 4 * (floor["request_ms"] + floor["watch_ms"])
            print(
                f"floor of an API cycle (no control-plane logic): raw {raw_cycle:.1f} ms + 4 x "
                f"(one API request {floor['request_ms']:.1f} ms + the watcher's wait "
                f"{floor['watch_ms']:.1f} ms) = {raw_cycle + steps:.1f} ms = "
                f"{(raw_cycle + steps) / raw_cycle:.2f}x raw (without the watcher: "
                f"{(raw_cycle + 4 * floor['request_ms']) / raw_cycle:.2f}x)"
            )
    top = max((int(k.split("c")[-1]) for k in results if k != "floor"), default=1)
    if top > 1 and f"api c{top}" in results and f"raw c{top}" in results:
        share = results[f"api c{top}"]["per_second"] / results[f"raw c{top}"]["per_second"]
        print(f"API / raw throughput at c{top}: {share:.2f} (no target; for reference)")


if __name__ == "__main__":
    sys.exit(main())
