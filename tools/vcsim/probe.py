#!/usr/bin/env python3
"""Probe the vistack vCenter simulator launcher with pyVmomi.

    .venv/bin/python tools/vcsim/probe.py [--binary PATH] [-v]

Builds the launcher (tools/vcsim/build.sh) unless --binary is given, starts it
several times with different flags, and checks what docs/vsphere.md promises:
the model's shape and capacity, login enforcement, verified TLS, the SOAP
guard, the added methods, delays, session expiry, persistent datastores
(-datastore-root) and clean shutdown. Prints
one line per check and a closing "N passed, N failed"; exits non-zero on any
failure. Every launcher it starts is stopped by PID; everything it writes is
under one temporary directory that it removes.
"""

import argparse
import hashlib
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse
import uuid
from collections.abc import Callable
from typing import Any

import pyVim.connect
import pyVim.task
import pyVmomi

# pyVmomi's types are made at run time, so a type checker sees only errors: take them as Any
# at this boundary, as vistack/vsphere/vmomi.py does.
_pyvmomi: Any = pyVmomi
_pyvim_connect: Any = pyVim.connect
_pyvim_task: Any = pyVim.task
vim: Any = _pyvmomi.vim
vmodl: Any = _pyvmomi.vmodl
SmartConnect: Any = _pyvim_connect.SmartConnect
Disconnect: Any = _pyvim_connect.Disconnect
WaitForTask: Any = _pyvim_task.WaitForTask

HERE = os.path.dirname(os.path.abspath(__file__))
GIB = 1 << 30

# The launcher's JSON ready line (docs/vsphere.md), plus "_elapsed" added by Probe.start.
Ready = dict[str, Any]


def read(path: str) -> str:
    with open(path) as f:
        return f.read()


def read_bytes(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def disk_file(vm: Any) -> str:
    """The backing file of a VM's (first) virtual disk."""
    return str(
        next(
            d.backing.fileName
            for d in vm.config.hardware.device
            if isinstance(d, vim.vm.device.VirtualDisk)
        )
    )


def clone(si: Any, source: Any, name: str, instance_uuid: str | None = None) -> Any:
    """Clone `source` (a template) into the first cluster's pool; the new VM."""
    content = si.RetrieveContent()
    dc = content.rootFolder.childEntity[0]
    pool = dc.hostFolder.childEntity[0].resourcePool
    spec = vim.vm.CloneSpec(
        location=vim.vm.RelocateSpec(pool=pool),
        powerOn=False,
        template=False,
        config=vim.vm.ConfigSpec(instanceUuid=instance_uuid) if instance_uuid else None,
    )
    task = source.CloneVM_Task(dc.vmFolder, name, spec)
    WaitForTask(task)
    return task.info.result


def folder_status(r: Ready, datastore_path: str) -> int:
    """HTTP status of HEAD /folder for "[ds] dir/file" in the ready line's datacenter."""
    ds, _, rel = datastore_path.partition("] ")
    conn = http.client.HTTPConnection(r["host"], r["port"], timeout=10)
    query = urllib.parse.urlencode({"dcPath": r["datacenter"], "dsName": ds.lstrip("[")})
    conn.request("HEAD", f"/folder/{urllib.parse.quote(rel)}?{query}")
    status = conn.getresponse().status
    conn.close()
    return status


class Probe:
    def __init__(self, binary: str, verbose: bool) -> None:
        self.binary = binary
        self.verbose = verbose
        self.passed = 0
        self.failed = 0
        self.work = tempfile.mkdtemp(prefix="vistack-vcsim-probe-")

    # -- bookkeeping -------------------------------------------------------
    def check(self, name: str, ok: object, detail: object = "") -> bool:
        if ok:
            self.passed += 1
            print(f"ok   {name}" + (f"  ({detail})" if detail and self.verbose else ""))
        else:
            self.failed += 1
            print(f"FAIL {name}  {detail}")
        return bool(ok)

    def expect_fault(
        self, name: str, fault_type: type[BaseException], fn: Callable[[], object]
    ) -> bool:
        try:
            fn()
        except fault_type as e:
            return self.check(name, True, type(e).__name__)
        except Exception as e:
            return self.check(name, False, f"got {type(e).__name__}: {e}")
        return self.check(name, False, "no fault raised")

    # -- launcher ----------------------------------------------------------
    def start(self, *args: str) -> tuple[subprocess.Popen[str], Ready, str]:
        """Start the launcher; (process, ready line, path of its stderr log)."""
        err = os.path.join(self.work, f"vcsim-{time.monotonic_ns()}.err")
        t0 = time.monotonic()
        with open(err, "w") as log:
            proc = subprocess.Popen(
                [self.binary, *args], stdout=subprocess.PIPE, stderr=log, text=True
            )
        assert proc.stdout is not None  # stdout=PIPE
        line = proc.stdout.readline()
        elapsed = time.monotonic() - t0
        if not line:
            proc.wait(10)
            raise RuntimeError(f"launcher exited {proc.returncode}: {read(err)}")
        ready = json.loads(line)
        ready["_elapsed"] = elapsed
        return proc, ready, err

    def stop(self, proc: subprocess.Popen[str]) -> tuple[int, float]:
        """SIGTERM by PID; returns (exit code, seconds)."""
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
        return rc, time.monotonic() - t0

    @staticmethod
    def connect(ready: Ready, user: str | None = None, pwd: str | None = None, **kw: Any) -> Any:
        if ready["protocol"] == "http":
            kw.setdefault("protocol", "http")
        return SmartConnect(
            host=ready["host"],
            port=ready["port"],
            user=user or ready["username"],
            pwd=pwd or ready["password"],
            **kw,
        )

    # -- scenarios ---------------------------------------------------------
    def default_model(self) -> None:
        proc, r, err = self.start()
        try:
            self.check("ready line in < 2 s", r["_elapsed"] < 2, f"{r['_elapsed']:.3f} s")
            self.check(
                "ready line: http, /sdk url",
                r["protocol"] == "http" and r["url"] == f"http://127.0.0.1:{r['port']}/sdk",
                r["url"],
            )
            self.check(
                "ready line: 2 clusters", r["clusters"] == ["DC0_C0", "DC0_C1"], r["clusters"]
            )
            self.check("ready line: 6 hosts", len(r["hosts"]) == 6 and r["standalone_hosts"] == [])
            self.check("ready line: 2 datastores", r["datastores"] == ["LocalDS_0", "LocalDS_1"])
            self.check(
                "ready line: DVS0 + 1 portgroup",
                r["dvs"] == "DVS0" and r["portgroups"] == ["DC0_DVPG0"],
            )
            self.check("ready line: pid", r["pid"] == proc.pid)
            self.check(
                "ready line: login not enforced by default",
                r["login_enforced"] is False
                and r["username"] == "vistack"
                and r["password"] == "vistack",
            )
            self.check(
                "temp dirs exist",
                all(os.path.isdir(d) for d in r["temp_dirs"]) and len(r["temp_dirs"]) == 2,
            )

            si = self.connect(r, user="anyone", pwd="anything")
            self.check("any non-empty login accepted when not enforced", True)
            content = si.RetrieveContent()
            self.inventory(content, r)
            self.guard(si, content, r, err)
            self.added_methods(si, content, r)
            self.not_authenticated(r)
            Disconnect(si)
        finally:
            rc, secs = self.stop(proc)
        self.check("SIGTERM: exit 0", rc == 0, f"rc={rc} in {secs:.2f} s")
        self.check(
            "SIGTERM: datastore temp dirs removed",
            not any(os.path.exists(d) for d in r["temp_dirs"]),
            r["temp_dirs"],
        )

    def inventory(self, content: Any, r: Ready) -> None:
        view = content.viewManager.CreateContainerView
        clusters = view(content.rootFolder, [vim.ClusterComputeResource], True).view
        self.check("2 clusters", sorted(c.name for c in clusters) == ["DC0_C0", "DC0_C1"])
        for c in clusters:
            s = c.summary
            hosts = c.host
            self.check(f"{c.name}: 3 hosts", len(hosts) == 3 and s.numHosts == 3)
            self.check(
                f"{c.name}: totalCpu = 3 x 32 x 2600 MHz", s.totalCpu == 3 * 32 * 2600, s.totalCpu
            )
            self.check(
                f"{c.name}: totalMemory = 3 x 256 GiB",
                s.totalMemory == 3 * 256 * GIB,
                s.totalMemory,
            )
            self.check(
                f"{c.name}: effectiveMemory in MiB",
                s.effectiveMemory == 3 * 256 * 1024,
                s.effectiveMemory,
            )
            self.check(
                f"{c.name}: 96 cores / threads", s.numCpuCores == 96 and s.numCpuThreads == 96
            )
            for h in hosts:
                hw = h.summary.hardware
                ok = (
                    hw.numCpuCores == 32
                    and hw.cpuMhz == 2600
                    and hw.memorySize == 256 * GIB
                    and h.hardware.cpuInfo.numCpuCores == 32
                    and h.hardware.memorySize == 256 * GIB
                    and h.hardware.cpuInfo.hz == 2600 * 10**6
                )
                self.check(f"{h.name}: 32 cores x 2600 MHz, 256 GiB", ok)
                tp = h.summary.config.sslThumbprint
                self.check(f"{h.name}: sslThumbprint set", tp and len(tp.split(":")) == 20, tp)
        dss = view(content.rootFolder, [vim.Datastore], True).view
        self.check("2 datastores", sorted({d.name for d in dss}) == ["LocalDS_0", "LocalDS_1"])
        all_hosts = view(content.rootFolder, [vim.HostSystem], True).view
        for d in dss:
            self.check(
                f"{d.name} mounted on all 6 hosts",
                len([h for h in all_hosts if d in h.datastore]) == 6,
            )
        switches = view(content.rootFolder, [vim.DistributedVirtualSwitch], True).view
        self.check("one DVS named DVS0", [s.name for s in switches] == ["DVS0"])
        dvs = switches[0]
        members = sorted(m.config.host.name for m in dvs.config.host)
        self.check("DVS0: config.host lists all 6 hosts", members == sorted(r["hosts"]), members)
        self.check("DVS0: summary.hostMember lists all 6 hosts", len(dvs.summary.hostMember) == 6)
        pgs = {p.name: p for p in dvs.portgroup}
        uplinks = [p for p in pgs.values() if p.config.uplink]
        self.check(
            "DVS0: one uplink portgroup, tagged",
            len(uplinks) == 1
            and any(t.key == "SYSTEM/DVS.UPLINKPG" for t in uplinks[0].tag)
            and list(dvs.config.uplinkPortgroup) == uplinks,
        )
        self.check(
            "DVS0: user portgroup DC0_DVPG0 on all hosts",
            "DC0_DVPG0" in pgs and len(pgs["DC0_DVPG0"].host) == 6,
        )

    def make_vm(
        self, content: Any, name: str, power_on: bool = True, vmx: str = "[LocalDS_0]"
    ) -> Any:
        dc = content.rootFolder.childEntity[0]
        cluster = dc.hostFolder.childEntity[0]
        pg = next(n for n in dc.network if n.name == "DC0_DVPG0")
        dvs = pg.config.distributedVirtualSwitch
        disk = vim.vm.device.VirtualDeviceSpec(
            operation="add",
            fileOperation="create",
            device=vim.vm.device.VirtualDisk(
                key=-2,
                controllerKey=-1,
                unitNumber=0,
                capacityInKB=1024 * 1024,
                backing=vim.vm.device.VirtualDisk.FlatVer2BackingInfo(
                    diskMode="persistent", thinProvisioned=True
                ),
            ),
        )
        scsi = vim.vm.device.VirtualDeviceSpec(
            operation="add",
            device=vim.vm.device.ParaVirtualSCSIController(
                key=-1, busNumber=0, sharedBus="noSharing"
            ),
        )
        nic = vim.vm.device.VirtualDeviceSpec(
            operation="add",
            device=vim.vm.device.VirtualVmxnet3(
                key=-3,
                backing=vim.vm.device.VirtualEthernetCard.DistributedVirtualPortBackingInfo(
                    port=vim.dvs.PortConnection(switchUuid=dvs.uuid, portgroupKey=pg.key)
                ),
            ),
        )
        spec = vim.vm.ConfigSpec(
            name=name,
            numCPUs=1,
            memoryMB=512,
            guestId="otherGuest64",
            files=vim.vm.FileInfo(vmPathName=vmx),
            deviceChange=[scsi, disk, nic],
        )
        task = dc.vmFolder.CreateVM_Task(spec, cluster.resourcePool)
        WaitForTask(task)
        vm = task.info.result
        if power_on:
            WaitForTask(vm.PowerOnVM_Task())
        return vm

    def guard(self, si: Any, content: Any, r: Ready, err: str) -> None:
        vm = self.make_vm(content, "probe-guard")
        try:
            snap = vm.snapshot
            self.check("lazy vm.snapshot (unset) returns None, no disconnect", snap is None)
            time.sleep(0.05)
            self.check(
                "... because the guard answered vcsim's Fetch panic",
                "Fetch of an unset property answered with an empty FetchResponse" in read(err),
            )
        except Exception as e:
            self.check("lazy vm.snapshot (unset) returns None, no disconnect", False, repr(e))
        WaitForTask(vm.PowerOffVM_Task())
        vm.MarkAsTemplate()
        try:
            self.check("lazy template.resourcePool returns None", vm.resourcePool is None)
        except Exception as e:
            self.check("lazy template.resourcePool returns None", False, repr(e))
        ds = next(d for d in content.rootFolder.childEntity[0].datastore if d.name == "LocalDS_0")
        try:
            ds.RefreshDatastore()
            self.check("RefreshDatastore answers (void response, no ExpatError)", True)
        except Exception as e:
            self.check("RefreshDatastore answers (void response, no ExpatError)", False, repr(e))
        # SearchDatastore_Task without a searchSpec makes vcsim dereference nil.
        try:
            task = ds.browser.SearchDatastore_Task("[LocalDS_0]")
            WaitForTask(task)
            self.check("nil-pointer panic becomes a SOAP fault", False, "no fault")
        except vmodl.fault.SystemError as e:
            self.check("nil-pointer panic becomes vmodl.fault.SystemError", True, e.reason)
        except Exception as e:
            self.check("nil-pointer panic becomes vmodl.fault.SystemError", False, repr(e))
        self.check("server still answers after recovered panics", si.CurrentTime() is not None)
        # Searches walk every registry object, the launcher's own included.
        index = content.searchIndex
        vm2 = self.make_vm(content, "probe-search", power_on=False)
        found = index.FindByUuid(None, vm2.config.instanceUuid, True, True)
        host = vm2.runtime.host
        self.check(
            "FindByUuid (VM and host) works beside the launcher's objects",
            found == vm2 and index.FindByUuid(None, host.hardware.systemInfo.uuid, False) == host,
        )

    def events_of(self, content: Any, vm: Any, kind: Any) -> list[Any]:
        spec = vim.event.EventFilterSpec(
            entity=vim.event.EventFilterSpec.ByEntity(entity=vm, recursion="self")
        )
        return [e for e in content.eventManager.QueryEvents(spec) if isinstance(e, kind)]

    def added_methods(self, si: Any, content: Any, r: Ready) -> None:
        dc = content.rootFolder.childEntity[0]
        vm = self.make_vm(content, "probe-methods")

        # RebootGuest
        before = vm.summary.runtime.bootTime
        time.sleep(0.01)
        vm.RebootGuest()
        self.check("RebootGuest: stays poweredOn", vm.runtime.powerState == "poweredOn")
        self.check(
            "RebootGuest: bootTime moves",
            vm.runtime.bootTime
            and vm.runtime.bootTime > before
            and vm.summary.runtime.bootTime == vm.runtime.bootTime,
        )
        self.check(
            "RebootGuest: VmGuestRebootEvent logged",
            len(self.events_of(content, vm, vim.event.VmGuestRebootEvent)) == 1,
        )

        # AcquireTicket
        t = vm.AcquireTicket("mks")
        host = vm.runtime.host
        self.check(
            "AcquireTicket(mks): ticket, host, port 902, host thumbprint",
            len(t.ticket) == 32
            and t.host == host.name
            and t.port == 902
            and t.sslThumbprint == host.summary.config.sslThumbprint
            and t.cfgFile.startswith("/vmfs/volumes/LocalDS_0/"),
            f"{t.host}:{t.port} {t.cfgFile}",
        )
        t2 = vm.AcquireTicket("webmks")
        self.check(
            "AcquireTicket(webmks): port 443, wss url, fresh ticket",
            t2.port == 443
            and t2.url == f"wss://{host.name}:443/ticket/{t2.ticket}"
            and t2.ticket != t.ticket,
        )
        self.expect_fault(
            "AcquireTicket(bogus) -> InvalidArgument",
            vmodl.fault.InvalidArgument,
            lambda: vm.AcquireTicket("bogus"),
        )

        # StandbyGuest
        vm.StandbyGuest()
        self.check(
            "StandbyGuest: suspends (standbyAction checkpoint)",
            vm.runtime.powerState == "suspended",
        )
        self.check(
            "StandbyGuest: VmGuestStandbyEvent logged",
            len(self.events_of(content, vm, vim.event.VmGuestStandbyEvent)) == 1,
        )
        self.expect_fault(
            "RebootGuest on suspended VM -> InvalidPowerState",
            vim.fault.InvalidPowerState,
            vm.RebootGuest,
        )
        self.expect_fault(
            "StandbyGuest on suspended VM -> InvalidPowerState",
            vim.fault.InvalidPowerState,
            vm.StandbyGuest,
        )
        WaitForTask(vm.PowerOnVM_Task())
        WaitForTask(vm.PowerOffVM_Task())
        self.expect_fault(
            "RebootGuest on poweredOff VM -> InvalidPowerState",
            vim.fault.InvalidPowerState,
            vm.RebootGuest,
        )
        self.expect_fault(
            "AcquireTicket on poweredOff VM -> InvalidPowerState",
            vim.fault.InvalidPowerState,
            lambda: vm.AcquireTicket("mks"),
        )

        # ExtendVirtualDisk_Task on a standalone disk
        vdm, fm = content.virtualDiskManager, content.fileManager
        fm.MakeDirectory("[LocalDS_1] volumes", dc, True)
        name = "[LocalDS_1] volumes/v1.vmdk"
        spec = vim.VirtualDiskManager.FileBackedVirtualDiskSpec(
            diskType="thin", adapterType="lsiLogic", capacityKb=1024 * 1024
        )
        WaitForTask(vdm.CreateVirtualDisk_Task(name, dc, spec))
        ds_dir = next(d for d in r["temp_dirs"] if "LocalDS_1" in d)
        flat = os.path.join(ds_dir, "volumes", "v1-flat.vmdk")
        desc = read(os.path.join(ds_dir, "volumes", "v1.vmdk"))
        self.check(
            "CreateVirtualDisk_Task: descriptor states the capacity (flat left empty)",
            'RW 2097152 VMFS "v1-flat.vmdk"' in desc
            and 'ddb.thinProvisioned = "1"' in desc
            and os.path.getsize(flat) == 0,
        )
        task = vdm.ExtendVirtualDisk_Task(name, dc, 2 * 1024 * 1024, False)
        state = WaitForTask(task)
        self.check(
            "ExtendVirtualDisk_Task: success via pyVim WaitForTask (task.info readable)",
            state == "success" and task.info.entity is None,
        )
        desc = read(os.path.join(ds_dir, "volumes", "v1.vmdk"))
        self.check(
            "ExtendVirtualDisk_Task: flat file untouched (no GiB of zeros)",
            os.path.getsize(flat) == 0,
        )
        self.check(
            "ExtendVirtualDisk_Task: descriptor extent says 4194304 sectors",
            'RW 4194304 VMFS "v1-flat.vmdk"' in desc,
        )
        WaitForTask(vdm.ExtendVirtualDisk_Task(name, dc, 3 * 1024 * 1024, False))
        desc = read(os.path.join(ds_dir, "volumes", "v1.vmdk"))
        self.check(
            "ExtendVirtualDisk_Task: second extend edits the extent line",
            'RW 6291456 VMFS "v1-flat.vmdk"' in desc,
        )
        self.expect_fault(
            "ExtendVirtualDisk_Task: shrink -> InvalidArgument",
            vmodl.fault.InvalidArgument,
            lambda: WaitForTask(vdm.ExtendVirtualDisk_Task(name, dc, 2 * 1024 * 1024, False)),
        )
        self.expect_fault(
            "ExtendVirtualDisk_Task: missing disk -> FileNotFound",
            vim.fault.FileNotFound,
            lambda: WaitForTask(
                vdm.ExtendVirtualDisk_Task(
                    "[LocalDS_1] volumes/nope.vmdk", dc, 4 * 1024 * 1024, False
                )
            ),
        )
        self.expect_fault(
            "ExtendVirtualDisk_Task: no datacenter -> InvalidArgument",
            vmodl.fault.InvalidArgument,
            lambda: WaitForTask(vdm.ExtendVirtualDisk_Task(name, None, 4 * 1024 * 1024, False)),
        )

        # ... on a disk attached to a VM
        disk = next(
            d for d in vm.config.hardware.device if isinstance(d, vim.vm.device.VirtualDisk)
        )
        vmdk = disk.backing.fileName
        WaitForTask(vm.PowerOnVM_Task())
        self.expect_fault(
            "ExtendVirtualDisk_Task: disk of a running VM -> FileLocked",
            vim.fault.FileLocked,
            lambda: WaitForTask(vdm.ExtendVirtualDisk_Task(vmdk, dc, 4 * 1024 * 1024, False)),
        )
        WaitForTask(vm.PowerOffVM_Task())
        WaitForTask(vdm.ExtendVirtualDisk_Task(vmdk, dc, 4 * 1024 * 1024, False))
        disk = next(
            d for d in vm.config.hardware.device if isinstance(d, vim.vm.device.VirtualDisk)
        )
        self.check(
            "ExtendVirtualDisk_Task: attached VM's disk shows the new capacity",
            disk.capacityInKB == 4 * 1024 * 1024 and disk.capacityInBytes == 4 * GIB,
            disk.capacityInKB,
        )

        # The stock VirtualDiskManager tasks get the same task.info fix.
        task = vdm.CopyVirtualDisk_Task(name, dc, "[LocalDS_1] volumes/v2.vmdk", dc)
        self.check(
            "CopyVirtualDisk_Task: pyVim WaitForTask works (entity cleared)",
            WaitForTask(task) == "success",
        )

        # Capacity follows hosts added at run time.
        cluster = next(c for c in dc.hostFolder.childEntity if c.name == "DC0_C1")
        WaitForTask(cluster.AddHost_Task(vim.host.ConnectSpec(hostName="probe-host-4"), True))
        self.check(
            "AddHost_Task: cluster capacity re-summed",
            cluster.summary.totalCpu == 4 * 32 * 2600
            and cluster.summary.numHosts == 4
            and cluster.summary.effectiveMemory == 4 * 256 * 1024,
            cluster.summary.totalCpu,
        )

    def not_authenticated(self, r: Ready) -> None:
        # A RebootGuest without a session must meet the simulator's own check.
        body = (
            '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
            'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
            '<RebootGuest xmlns="urn:vim25"><_this type="VirtualMachine">vm-1</_this></RebootGuest>'
            "</soapenv:Body></soapenv:Envelope>"
        )
        conn = http.client.HTTPConnection(r["host"], r["port"], timeout=10)
        conn.request(
            "POST", "/sdk", body, {"Content-Type": "text/xml", "SOAPAction": "urn:vim25/6.5"}
        )
        resp = conn.getresponse()
        text = resp.read().decode()
        self.check(
            "added method without a session -> NotAuthenticated",
            resp.status == 500 and "NotAuthenticated" in text,
            text[:200],
        )

    def enforced_tls(self) -> None:
        certdir = os.path.join(self.work, "certs")
        proc, r, _ = self.start(
            "-username", "admin", "-password", "s3cret!", "-tls-generate", certdir
        )
        try:
            self.check(
                "https ready line",
                r["protocol"] == "https"
                and r["url"].startswith("https://127.0.0.1:")
                and r["login_enforced"]
                and r["username"] == "admin",
            )
            ca = r["ca_file"]
            der = ssl.PEM_cert_to_DER_cert(read(ca))
            tp = ":".join(f"{b:02X}" for b in hashlib.sha1(der).digest())
            self.check("thumbprint = SHA-1 of the served cert", r["thumbprint"] == tp, tp)
            key_mode = os.stat(r["key_file"]).st_mode & 0o777
            self.check("generated key is 0600", key_mode == 0o600, oct(key_mode))
            out = subprocess.run(
                ["openssl", "x509", "-in", ca, "-noout", "-text"], capture_output=True, text=True
            ).stdout
            self.check(
                "generated cert: RSA 2048, SAN 127.0.0.1 + localhost",
                "2048 bit" in out and "IP Address:127.0.0.1" in out and "DNS:localhost" in out,
            )

            ctx = ssl.create_default_context(cafile=ca)
            si = self.connect(r, sslContext=ctx)
            self.check(
                "https verified against ca_file (hostname 127.0.0.1)", si.CurrentTime() is not None
            )
            Disconnect(si)
            ctx2 = ssl.create_default_context(cafile=ca)
            si = SmartConnect(
                host="localhost", port=r["port"], user="admin", pwd="s3cret!", sslContext=ctx2
            )
            self.check(
                "https verified against ca_file (hostname localhost)", si.CurrentTime() is not None
            )
            Disconnect(si)
            si = self.connect(r, disableSslCertValidation=True)
            self.check("https with disableSslCertValidation", si.CurrentTime() is not None)
            Disconnect(si)
            try:
                si = self.connect(r, sslContext=ssl.create_default_context())
                self.check("https refused without the CA", False, "connected")
            except ssl.SSLError as e:
                self.check("https refused without the CA", True, str(e)[:60])
            self.expect_fault(
                "wrong password -> InvalidLogin",
                vim.fault.InvalidLogin,
                lambda: self.connect(r, pwd="wrong", disableSslCertValidation=True),
            )
            self.expect_fault(
                "wrong user -> InvalidLogin",
                vim.fault.InvalidLogin,
                lambda: self.connect(
                    r, user="vistack", pwd="vistack", disableSslCertValidation=True
                ),
            )
            try:
                conn = http.client.HTTPConnection(r["host"], r["port"], timeout=5)
                conn.request("GET", "/about")
                status = conn.getresponse().status
                self.check("plain http on the https port fails", status == 400, status)
            except Exception as e:
                self.check("plain http on the https port fails", True, type(e).__name__)
        finally:
            rc, _ = self.stop(proc)
        self.check("https launcher exits 0 on SIGTERM", rc == 0)

        # A restart reuses the cert in the same dir: the pinned thumbprint holds.
        proc, r2, _ = self.start("-tls-generate", certdir)
        try:
            self.check(
                "-tls-generate reuses a valid cert (same thumbprint)",
                r2["thumbprint"] == r["thumbprint"],
            )
        finally:
            self.stop(proc)
        # -tls-cert/-tls-key serve a given pair.
        proc, r3, _err = self.start("-tls-cert", r["cert_file"], "-tls-key", r["key_file"])
        try:
            si = self.connect(
                r3, user="x", pwd="y", sslContext=ssl.create_default_context(cafile=r["ca_file"])
            )
            self.check(
                "-tls-cert/-tls-key serve that cert",
                r3["thumbprint"] == r["thumbprint"] and si.CurrentTime(),
            )
            Disconnect(si)
        finally:
            self.stop(proc)

    def delays_and_sessions(self) -> None:
        proc, r, _err = self.start(
            "-clusters",
            "1",
            "-hosts-per-cluster",
            "1",
            "-datastores",
            "1",
            "-method-delay",
            "RebootGuest:300,PowerOnVM_Task:200",
            "-session-idle-timeout",
            "1s",
            "-vms",
            "1",
        )
        try:
            si = self.connect(r)
            content = si.RetrieveContent()
            vm = content.viewManager.CreateContainerView(
                content.rootFolder, [vim.VirtualMachine], True
            ).view[0]
            self.check(
                "-vms 1: one powered-on VM per pool",
                r["vms"] == 1 and vm.runtime.powerState == "poweredOn",
            )
            t0 = time.monotonic()
            vm.RebootGuest()
            dt = time.monotonic() - t0
            self.check(
                "-method-delay applies to added methods (RebootGuest:300)",
                0.3 <= dt < 1.0,
                f"{dt:.3f} s",
            )
            WaitForTask(vm.PowerOffVM_Task())
            t0 = time.monotonic()
            WaitForTask(vm.PowerOnVM_Task())
            dt = time.monotonic() - t0
            self.check(
                "-method-delay applies to vcsim methods (PowerOnVM_Task:200)",
                0.2 <= dt < 0.9,
                f"{dt:.3f} s",
            )
            time.sleep(2.6)
            self.expect_fault(
                "-session-idle-timeout 1s expires an idle session",
                vim.fault.NotAuthenticated,
                si.CurrentTime,
            )
        finally:
            self.stop(proc)

    def renamed_and_standalone(self) -> None:
        proc, r, _err = self.start(
            "-datacenter",
            "Datacenter",
            "-clusters",
            "1",
            "-hosts-per-cluster",
            "2",
            "-standalone-hosts",
            "1",
            "-portgroups",
            "2",
            "-datastores",
            "1",
            "-host-cpu-cores",
            "16",
            "-host-cpu-mhz",
            "3000",
            "-host-memory-gib",
            "128",
        )
        try:
            self.check("-datacenter renames the datacenter", r["datacenter"] == "Datacenter")
            self.check(
                "-standalone-hosts 1",
                r["standalone_hosts"] == ["DC0_H0"] and len(r["hosts"]) == 2,
                r["standalone_hosts"],
            )
            self.check(
                "-portgroups 2", r["portgroups"] == ["DC0_DVPG0", "DC0_DVPG1"], r["portgroups"]
            )
            si = self.connect(r)
            content = si.RetrieveContent()
            found = content.searchIndex.FindByInventoryPath("Datacenter/host/DC0_C0")
            self.check(
                "inventory path uses the new name", found is not None and found.name == "DC0_C0"
            )
            self.check(
                "cluster totals follow -host-cpu-*/-host-memory-gib",
                found.summary.totalCpu == 2 * 16 * 3000
                and found.summary.totalMemory == 2 * 128 * GIB,
            )
            standalone = next(
                c
                for c in content.searchIndex.FindByInventoryPath("Datacenter/host").childEntity
                if not isinstance(c, vim.ClusterComputeResource)
            )
            self.check(
                "standalone compute resource totals",
                standalone.summary.totalCpu == 16 * 3000
                and standalone.summary.effectiveMemory == 128 * 1024,
            )
            conn = http.client.HTTPConnection(r["host"], r["port"], timeout=5)
            conn.request("PUT", "/folder/probe.txt?dcPath=Datacenter&dsName=LocalDS_0", b"hello")
            conn.getresponse().read()
            conn.request("GET", "/folder/probe.txt?dcPath=Datacenter&dsName=LocalDS_0")
            resp = conn.getresponse()
            self.check(
                "datastore /folder works with the renamed dcPath",
                resp.status == 200 and resp.read() == b"hello",
            )
            Disconnect(si)
        finally:
            self.stop(proc)

    def clone_race(self) -> None:
        """Clones of one template racing destroys and FindByUuid (wrap.go in the launcher)."""
        proc, r, err = self.start("-clusters", "1", "-hosts-per-cluster", "2", "-datastores", "1")
        try:
            si = self.connect(r)
            content = si.RetrieveContent()
            dc = content.rootFolder.childEntity[0]
            template = self.make_vm(content, "probe-template", power_on=False)
            template.MarkAsTemplate()
            original = disk_file(template)
            a = clone(si, template, "probe-clone-a")
            b = clone(si, template, "probe-clone-b")
            self.check(
                "clone leaves the template's disk backing alone",
                disk_file(template) == original,
                f"{original} -> {disk_file(template)}",
            )
            self.check(
                "clones get their own disk files",
                disk_file(a).startswith("[LocalDS_0] probe-clone-a/")
                and disk_file(b).startswith("[LocalDS_0] probe-clone-b/"),
                f"{disk_file(a)}, {disk_file(b)}",
            )
            b_disk = disk_file(b)
            WaitForTask(a.Destroy_Task())
            self.check(
                "destroying a clone keeps its sibling's disk",
                folder_status(r, b_disk) == 200 and disk_file(b) == b_disk,
                b_disk,
            )
            WaitForTask(b.Destroy_Task())

            threads, total = 8, 200
            lock = threading.Lock()
            todo = iter(range(total))
            done = []
            errors = []

            def worker() -> None:
                own = self.connect(r)
                try:
                    mine = vim.VirtualMachine(template._moId, own._stub)
                    index = own.RetrieveContent().searchIndex
                    datacenter = vim.Datacenter(dc._moId, own._stub)
                    while True:
                        with lock:
                            n = next(todo, None)
                        if n is None:
                            return
                        try:
                            instance_uuid = str(uuid.uuid4())
                            vm = clone(own, mine, f"probe-race-{n}", instance_uuid)
                            found = index.FindByUuid(datacenter, instance_uuid, True, True)
                            if found != vm:
                                raise AssertionError(f"FindByUuid gave {found}, not {vm}")
                            WaitForTask(vm.Destroy_Task())
                            with lock:
                                done.append(n)
                        except Exception as e:
                            with lock:
                                errors.append(e)
                finally:
                    Disconnect(own)

            t0 = time.monotonic()
            pool = [threading.Thread(target=worker) for _ in range(threads)]
            for t in pool:
                t.start()
            for t in pool:
                t.join()
            dt = time.monotonic() - t0
            system_errors = [e for e in errors if isinstance(e, vmodl.fault.SystemError)]
            self.check(
                f"{threads} threads x clone/FindByUuid/destroy of one template: "
                f"{total} ops, no fault",
                len(done) == total and not errors,
                f"{len(done)} done in {dt:.1f} s, {len(system_errors)} SystemError, "
                f"{len(errors)} errors{': ' + repr(errors[0])[:200] if errors else ''}",
            )
            self.check("... and no recovered panic in the log", "recovered panic" not in read(err))
            left = content.viewManager.CreateContainerView(
                content.rootFolder, [vim.VirtualMachine], True
            ).view
            self.check(
                "... template intact, no clone left",
                [v.name for v in left] == ["probe-template"] and disk_file(template) == original,
                [v.name for v in left],
            )
            Disconnect(si)
        finally:
            self.stop(proc)

    def datastore_root(self) -> None:
        """-datastore-root: every file path of the simulator lands in DIR/<name> and stays."""
        small = ("-clusters", "1", "-hosts-per-cluster", "2")
        # Why leftover VM folders are moved aside: vcsim refuses a VM whose folder exists.
        proc, r, _err = self.start(*small)
        try:
            ds0 = next(d for d in r["temp_dirs"] if "LocalDS_0" in d)
            os.makedirs(os.path.join(ds0, "old-vm"))
            with open(os.path.join(ds0, "old-vm", "old-vm.vmx"), "w") as f:
                f.write("left by an earlier run")
            si = self.connect(r)
            content = si.RetrieveContent()
            self.expect_fault(
                "stock: CreateVM_Task into an existing [ds] name/name.vmx -> FileAlreadyExists",
                vim.fault.FileAlreadyExists,
                lambda: self.make_vm(content, "old-vm", False, "[LocalDS_0] old-vm/old-vm.vmx"),
            )
            Disconnect(si)
        finally:
            self.stop(proc)

        root = os.path.join(self.work, "datastores")
        ds0, ds1 = os.path.join(root, "LocalDS_0"), os.path.join(root, "LocalDS_1")
        payload = os.urandom(1 << 20)
        proc, r, _err = self.start(*small, "-datastore-root", root)
        try:
            self.check(
                "-datastore-root: ready line names DIR/<name>, no temp dirs",
                r["datastore_root"] == root
                and r["datastore_dirs"] == [ds0, ds1]
                and r["temp_dirs"] == []
                and os.stat(root).st_mode & 0o777 == 0o700,
                r["datastore_dirs"],
            )
            si = self.connect(r)
            content = si.RetrieveContent()
            dc = content.rootFolder.childEntity[0]
            ds = next(d for d in dc.datastore if d.name == "LocalDS_0")
            self.check(
                "-datastore-root: info.url, info.path and summary.url point there",
                ds.info.url == ds0 and ds.info.path == ds0 and ds.summary.url == ds0,
            )
            fm, vdm = content.fileManager, content.virtualDiskManager
            fm.MakeDirectory("[LocalDS_0] images", dc, True)
            conn = http.client.HTTPConnection(r["host"], r["port"], timeout=10)
            q = "dcPath=DC0&dsName=LocalDS_0"
            conn.request("PUT", f"/folder/images/a.vmdk?{q}", payload)
            conn.getresponse().read()
            conn.request("GET", f"/folder/images/a.vmdk?{q}")
            got = conn.getresponse().read()
            conn.close()
            self.check(
                "-datastore-root: /folder PUT/GET and MakeDirectory use DIR/LocalDS_0",
                got == payload and read_bytes(os.path.join(ds0, "images", "a.vmdk")) == payload,
            )
            fm.MakeDirectory("[LocalDS_1] images", dc, True)
            WaitForTask(
                fm.CopyDatastoreFile_Task(
                    "[LocalDS_0] images/a.vmdk", dc, "[LocalDS_1] images/b.vmdk", dc
                )
            )
            WaitForTask(
                fm.MoveDatastoreFile_Task(
                    "[LocalDS_1] images/b.vmdk", dc, "[LocalDS_1] images/c.vmdk", dc
                )
            )
            moved = os.listdir(os.path.join(ds1, "images"))
            WaitForTask(fm.DeleteDatastoreFile_Task("[LocalDS_1] images/c.vmdk", dc))
            self.check(
                "-datastore-root: FileManager copy, move and delete there",
                moved == ["c.vmdk"] and os.listdir(os.path.join(ds1, "images")) == [],
                moved,
            )
            fm.MakeDirectory("[LocalDS_0] volumes", dc, True)
            spec = vim.VirtualDiskManager.FileBackedVirtualDiskSpec(
                diskType="thin", adapterType="lsiLogic", capacityKb=1024
            )
            v1, v2 = "[LocalDS_0] volumes/v1.vmdk", "[LocalDS_0] volumes/v2.vmdk"
            WaitForTask(vdm.CreateVirtualDisk_Task(v1, dc, spec))
            WaitForTask(vdm.ExtendVirtualDisk_Task(v1, dc, 2048, False))
            WaitForTask(vdm.CopyVirtualDisk_Task(v1, dc, v2, dc))
            copied = sorted(os.listdir(os.path.join(ds0, "volumes")))
            WaitForTask(vdm.DeleteVirtualDisk_Task(v2, dc))
            self.check(
                "-datastore-root: VirtualDiskManager create, extend, copy, delete there",
                copied == ["v1-flat.vmdk", "v1.vmdk", "v2-flat.vmdk", "v2.vmdk"]
                and 'RW 4096 VMFS "v1-flat.vmdk"' in read(os.path.join(ds0, "volumes", "v1.vmdk"))
                and sorted(os.listdir(os.path.join(ds0, "volumes"))) == copied[:2],
                copied,
            )
            self.make_vm(content, "kept-vm", False, "[LocalDS_0] kept-vm/kept-vm.vmx")
            gone = self.make_vm(content, "gone-vm", False)
            made = os.path.isfile(os.path.join(ds0, "gone-vm", "gone-vm.vmx"))
            WaitForTask(gone.Destroy_Task())
            self.check(
                "-datastore-root: CreateVM_Task and Destroy_Task there",
                made
                and not os.path.exists(os.path.join(ds0, "gone-vm"))
                and os.path.isfile(os.path.join(ds0, "kept-vm", "kept-vm.vmx")),
            )
            Disconnect(si)
        finally:
            rc, _ = self.stop(proc)
        self.check(
            "-datastore-root: SIGTERM exits 0 and keeps the files",
            rc == 0 and read_bytes(os.path.join(ds0, "images", "a.vmdk")) == payload,
        )

        proc, r, err = self.start(*small, "-datastore-root", root)
        try:
            orphans = r.get("orphaned_dirs", [])
            self.check(
                "restart: the earlier VM's folder is moved to .orphaned-*/, images/ and "
                "volumes/ stay",
                len(orphans) == 1
                and os.path.basename(orphans[0]) == "kept-vm"
                and os.path.basename(os.path.dirname(orphans[0])).startswith(".orphaned-")
                and os.path.isfile(os.path.join(orphans[0], "kept-vm.vmx"))
                and sorted(n for n in os.listdir(ds0) if not n.startswith("."))
                == ["images", "volumes"],
                orphans,
            )
            self.check("restart: the move is logged", "moved 1 VM folder(s)" in read(err))
            conn = http.client.HTTPConnection(r["host"], r["port"], timeout=10)
            conn.request("GET", "/folder/images/a.vmdk?dcPath=DC0&dsName=LocalDS_0")
            got = conn.getresponse().read()
            conn.close()
            self.check("restart: /folder GET gives the same bytes", got == payload)
            si = self.connect(r)
            content = si.RetrieveContent()
            vm = self.make_vm(content, "kept-vm", False, "[LocalDS_0] kept-vm/kept-vm.vmx")
            self.check(
                "restart: a VM of the same name gets its plain folder",
                vm.config.files.vmPathName == "[LocalDS_0] kept-vm/kept-vm.vmx",
            )
            Disconnect(si)
        finally:
            self.stop(proc)

        out = subprocess.run(
            [self.binary, "-datastore-root", root, "-vms", "1"], capture_output=True, text=True
        )
        self.check(
            "-datastore-root with -vms: exit 2",
            out.returncode == 2 and "-vms cannot be combined" in out.stderr,
        )

    def bad_flags(self) -> None:
        out = subprocess.run([self.binary, "-tls-cert", "x"], capture_output=True, text=True)
        self.check(
            "bad flags: exit 2 with a message", out.returncode == 2 and "go together" in out.stderr
        )
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            port = busy.getsockname()[1]
            out = subprocess.run(
                [self.binary, "-listen", f"127.0.0.1:{port}"],
                capture_output=True,
                text=True,
                timeout=30,
            )
        self.check(
            "listen on a busy port: exit 1, nothing on stdout",
            out.returncode == 1 and out.stdout == "",
            out.stderr.strip()[-120:],
        )

    def run(self) -> int:
        try:
            for scenario in (
                self.default_model,
                self.enforced_tls,
                self.delays_and_sessions,
                self.renamed_and_standalone,
                self.clone_race,
                self.datastore_root,
                self.bad_flags,
            ):
                try:
                    scenario()
                except Exception:
                    self.check(scenario.__name__, False, traceback.format_exc())
        finally:
            shutil.rmtree(self.work, ignore_errors=True)
        print(f"{self.passed} passed, {self.failed} failed")
        return 1 if self.failed else 0


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--binary", help="launcher to probe (default: build with tools/vcsim/build.sh)")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    binary = args.binary
    if not binary:
        out = subprocess.run(
            ["bash", os.path.join(HERE, "build.sh")], stdout=subprocess.PIPE, text=True, check=True
        )
        binary = out.stdout.strip().splitlines()[-1]
    sys.exit(Probe(binary, args.verbose).run())


if __name__ == "__main__":
    main()
