"""The session layer's overhead: the compute driver vs. the same raw pyVmomi calls.

Each sequence is what Nova does to boot and delete a server from an image template: clone from
the template, power on, power off, destroy. Both sides make the *same* vSphere calls, so the
difference is the driver's own cost (session pool, fault classification, lookups, dataclasses):

    FindByUuid            (create refuses a taken instance UUID: vCenter would silently re-assign)
    CloneVM_Task + wait   (wait = RetrievePropertiesEx of info.state/error/result)
    RetrievePropertiesEx  (the new VM read back: create_vm returns a VMInfo)
    PowerOnVM_Task + wait, PowerOffVM_Task + wait, Destroy_Task + wait

The raw side keeps the VM reference it got from the clone, as the driver's UUID → moref cache
does. Each worker clones its own template (one per worker, as a cloud has one per image): vcsim
0.24's `CloneVM_Task` hands the template's device objects to the clone and rewrites their disk
backing in place, so concurrent clones of one template racing a `Destroy_Task` of an earlier
clone crash the simulator (nil dereference in `removeDevice`), for raw pyVmomi and driver alike.

Concurrency is threads: the driver shares one `VCenterSession` whose pool is as large as the
number of workers; the raw side gives each worker its own logged-in connection.

Both run against one fresh embedded vCenter in the same run, interleaved driver/raw per
concurrency level so that neither profits from a warmer simulator. The issue's target: the
driver adds at most 10% over raw at concurrency 1 and scales at concurrency 8 at least as well.

Run: `.venv/bin/python bench/vsphere.py [-n 50] [--concurrency 1 8] [--json out.json]`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.contract.vcenter import embedded_vcenter
from vistack.drivers.bundle import Drivers
from vistack.drivers.models import Provisioning, TemplateRef, VMSpec
from vistack.vsphere.compute import VM_PATHS as DRIVER_VM_PATHS
from vistack.vsphere.drivers import vsphere_drivers
from vistack.vsphere.endpoint import VCenterEndpoint
from vistack.vsphere.session import VCenterSession
from vistack.vsphere.vmomi import SoapStubAdapter, vim, vmodl

PropertyCollector = vmodl.query.PropertyCollector
# The raw side reads exactly what the driver reads, so the comparison is like for like.
VM_PATHS = list(DRIVER_VM_PATHS)


@dataclass(frozen=True)
class Result:
    side: str
    concurrency: int
    sequences: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def rate(self) -> float:
        return self.sequences / self.seconds


# -- the raw side -------------------------------------------------------------------------------


class Raw:
    """One worker's own pyVmomi connection and the calls of one sequence."""

    def __init__(self, endpoint: VCenterEndpoint, template: TemplateRef, cluster: str) -> None:
        stub = SoapStubAdapter(
            host=endpoint.host,
            port=-endpoint.port,  # negative: plain http, pyVmomi's convention
            version="vim.version.version11",
            path="/sdk",
        )
        self.si = vim.ServiceInstance("ServiceInstance", stub)
        self.content = self.si.RetrieveContent()
        self.content.sessionManager.Login(endpoint.username, endpoint.password, None)
        self.stub = stub
        self.template = vim.VirtualMachine(template.id, stub)
        view = self.content.viewManager.CreateContainerView(
            self.content.rootFolder, [vim.Datacenter, vim.ClusterComputeResource], True
        )
        objects = {o.obj._wsdlName + ":" + o.propSet[0].val: o for o in self._names(view)}
        self.datacenter = objects[f"Datacenter:{endpoint.datacenter}"].obj
        self.folder = self._one(self.datacenter, vim.Datacenter, "vmFolder")
        cluster_ref = objects[f"ClusterComputeResource:{cluster}"].obj
        self.pool = self._one(cluster_ref, vim.ClusterComputeResource, "resourcePool")
        self.datastore = vim.Datastore(self._template_datastore(template), stub)
        view.DestroyView()

    def _names(self, view: Any) -> list[Any]:
        spec = PropertyCollector.FilterSpec(
            objectSet=[
                PropertyCollector.ObjectSpec(
                    obj=view,
                    skip=True,
                    selectSet=[
                        PropertyCollector.TraversalSpec(
                            name="v", path="view", skip=False, type=vim.view.ContainerView
                        )
                    ],
                )
            ],
            propSet=[PropertyCollector.PropertySpec(type=vim.ManagedEntity, pathSet=["name"])],
        )
        pc = self.content.propertyCollector
        return list(pc.RetrievePropertiesEx([spec], PropertyCollector.RetrieveOptions()).objects)

    def _one(self, obj: Any, kind: Any, path: str) -> Any:
        spec = PropertyCollector.FilterSpec(
            objectSet=[PropertyCollector.ObjectSpec(obj=obj, skip=False)],
            propSet=[PropertyCollector.PropertySpec(type=kind, pathSet=[path])],
        )
        pc = self.content.propertyCollector
        result = pc.RetrievePropertiesEx([spec], PropertyCollector.RetrieveOptions())
        return result.objects[0].propSet[0].val

    def _template_datastore(self, template: TemplateRef) -> str:
        stores = self._one(self.template, vim.VirtualMachine, "datastore")
        return str(stores[0]._moId)

    def wait(self, task: Any) -> Any:
        """PropertyCollector-based wait (vcsim's tasks are done when the call returns)."""
        spec = PropertyCollector.FilterSpec(
            objectSet=[PropertyCollector.ObjectSpec(obj=task, skip=False)],
            propSet=[
                PropertyCollector.PropertySpec(
                    type=vim.Task, pathSet=["info.state", "info.error", "info.result"]
                )
            ],
        )
        pc = self.content.propertyCollector
        while True:
            result = pc.RetrievePropertiesEx([spec], PropertyCollector.RetrieveOptions())
            props = {p.name: p.val for p in result.objects[0].propSet}
            if props.get("info.state") == "success":
                return props.get("info.result")
            if props.get("info.state") == "error":
                raise props["info.error"]
            time.sleep(0.001)

    def sequence(self) -> None:
        instance_uuid = str(uuid.uuid4())
        index = self.content.searchIndex
        if index.FindByUuid(self.datacenter, instance_uuid, True, True) is not None:
            raise RuntimeError("instance UUID taken")
        config = vim.vm.ConfigSpec(
            instanceUuid=instance_uuid,
            numCPUs=1,
            numCoresPerSocket=1,
            memoryMB=256,
            annotation="",
            deviceChange=[],
        )
        spec = vim.vm.CloneSpec(
            location=vim.vm.RelocateSpec(pool=self.pool, datastore=self.datastore),
            powerOn=False,
            template=False,
            config=config,
        )
        name = f"raw-{instance_uuid[:12]}"
        vm = self.wait(self.template.CloneVM_Task(folder=self.folder, name=name, spec=spec))
        read = PropertyCollector.FilterSpec(
            objectSet=[PropertyCollector.ObjectSpec(obj=vm, skip=False)],
            propSet=[PropertyCollector.PropertySpec(type=vim.VirtualMachine, pathSet=VM_PATHS)],
        )
        self.content.propertyCollector.RetrievePropertiesEx(
            [read], PropertyCollector.RetrieveOptions()
        )
        self.wait(vm.PowerOnVM_Task())
        self.wait(vm.PowerOffVM_Task())
        self.wait(vm.Destroy_Task())

    def close(self) -> None:
        self.content.sessionManager.Logout()


# -- the driver side ----------------------------------------------------------------------------


def driver_sequence(drivers: Drivers, template: TemplateRef) -> None:
    compute = drivers.compute
    instance_uuid = str(uuid.uuid4())
    spec = VMSpec(
        instance_uuid=instance_uuid,
        name=f"drv-{instance_uuid[:12]}",
        cluster=drivers.topology.clusters[0],
        datastore=template.datastore,
        cpus=1,
        memory_mb=256,
        template=template,
    )
    compute.create_vm(spec)
    compute.power_on(instance_uuid)
    compute.power_off(instance_uuid)
    compute.destroy_vm(instance_uuid)


# -- measurement --------------------------------------------------------------------------------


@dataclass
class Samples:
    """Every sequence's duration and the wall time of the batches, accumulated per side."""

    durations: list[float]
    seconds: float = 0.0


def measure(samples: Samples, concurrency: int, count: int, run: Callable[[int], None]) -> None:
    """Run `count` sequences on `concurrency` threads; `run(worker)` does one sequence."""
    lock = threading.Lock()
    counter = iter(range(count))

    def worker(index: int) -> None:
        while True:
            with lock:
                if next(counter, None) is None:
                    return
            started = time.perf_counter()
            run(index)
            elapsed = time.perf_counter() - started
            with lock:
                samples.durations.append(elapsed)

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        for future in [pool.submit(worker, i) for i in range(concurrency)]:
            future.result()
    samples.seconds += time.perf_counter() - started


def summarize(side: str, concurrency: int, samples: Samples) -> Result:
    durations = sorted(samples.durations)
    p99 = durations[min(len(durations) - 1, math_ceil(0.99 * len(durations)) - 1)]
    return Result(
        side,
        concurrency,
        len(durations),
        samples.seconds,
        statistics.median(durations) * 1e3,
        p99 * 1e3,
    )


def math_ceil(value: float) -> int:
    return -int(-value // 1)


def bench_level(
    endpoint: VCenterEndpoint,
    templates: list[TemplateRef],
    cluster: str,
    concurrency: int,
    args: argparse.Namespace,
) -> list[Result]:
    """Driver and raw at one concurrency, alternating in `args.rounds` batches.

    Alternating small batches (rather than all of one side, then all of the other) spreads the
    noise of a shared 2-core machine evenly over both sides; every sample is kept.
    """
    session = VCenterSession(endpoint, pool_size=concurrency, keepalive_seconds=0)
    session.connect()
    drivers = vsphere_drivers(session, endpoint)
    raws = [Raw(endpoint, templates[i], cluster) for i in range(concurrency)]
    sides: dict[str, Callable[[int], None]] = {
        "driver": lambda i: driver_sequence(drivers, templates[i]),
        "raw": lambda i: raws[i].sequence(),
    }
    try:
        # Warm both sides (lookup caches, HTTP connections) before measuring.
        for run in sides.values():
            measure(Samples([]), concurrency, concurrency * 2, run)
        samples = {side: Samples([]) for side in sides}
        batch = max(concurrency, args.n // args.rounds)
        done = 0
        while done < args.n:
            size = min(batch, args.n - done)
            for side, run in sides.items():
                measure(samples[side], concurrency, size, run)
            done += size
        return [summarize(side, concurrency, samples[side]) for side in sides]
    finally:
        for raw in raws:
            raw.close()
        session.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=50, help="sequences per side and concurrency")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--rounds", type=int, default=10, help="alternating batches per side")
    parser.add_argument("--json", help="write the results here too")
    args = parser.parse_args(argv)

    results: list[Result] = []
    with embedded_vcenter() as endpoint:
        setup = VCenterSession(endpoint, pool_size=1, keepalive_seconds=0)
        setup.connect()
        drivers = vsphere_drivers(setup, endpoint)
        datastore = drivers.topology.datastores[0]
        cluster = drivers.topology.clusters[0]
        templates = []
        for index in range(max(args.concurrency)):
            name = f"bench-template-{index}"
            disk = drivers.volumes.create_disk(datastore, name, 1, Provisioning.THIN)
            templates.append(
                drivers.images.make_template(
                    name, disk.path, cluster, datastore, cpus=1, memory_mb=256
                )
            )
        setup.close()
        for concurrency in args.concurrency:
            results.extend(bench_level(endpoint, templates, cluster, concurrency, args))

    print(f"{'side':<7} {'conc':>4} {'seq':>4} {'seq/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for r in results:
        print(
            f"{r.side:<7} {r.concurrency:>4} {r.sequences:>4} {r.rate:>8.1f} "
            f"{r.p50_ms:>8.2f} {r.p99_ms:>8.2f}"
        )
    by = {(r.side, r.concurrency): r for r in results}
    for concurrency in args.concurrency:
        ours, theirs = by[("driver", concurrency)], by[("raw", concurrency)]
        print(
            f"concurrency {concurrency}: driver/raw p50 {ours.p50_ms / theirs.p50_ms:.3f}, "
            f"throughput {ours.rate / theirs.rate:.3f}"
        )
    if len(args.concurrency) > 1:
        low, high = min(args.concurrency), max(args.concurrency)
        for side in ("driver", "raw"):
            scale = by[(side, high)].rate / by[(side, low)].rate
            print(f"{side} scaling {low}→{high}: {scale:.2f}x")
    if args.json:
        Path(args.json).write_text(
            json.dumps([{**asdict(r), "rate": r.rate} for r in results], indent=2)
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
