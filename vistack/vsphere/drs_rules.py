"""DRS VM-VM rules (affinity / anti-affinity) in a cluster: how server groups reach vSphere.

A rule lives in the cluster's `configurationEx.rule` and is changed with
`ReconfigureComputeResource_Task(ClusterConfigSpecEx(rulesSpec=[...]), modify=True)`, one
`ClusterRuleSpec` per change: `add` (vCenter gives the key), `edit` (by key; the whole rule info
is replaced, so the VM list sent is the new list) and `remove` (`removeKey`). vcsim stores rules
the same way (it matches an edit by name, vCenter by key: both are sent).

Callers name VMs by instance UUID; this module turns them into morefs (`SearchIndex.FindByUuid`)
and back (`config.instanceUuid` of the rule's VMs), so a VM destroyed since it joined simply
drops out of what a rule shows. Only VMs in the cluster can be in its rules: one elsewhere (a
member built on another cluster, moved by vMotion) is left out, as it is "not found" there.

Updates are read-modify-write of one cluster's configuration, so they are serialised per
cluster (`ClusterLocks`): two builds of one group finishing together would otherwise both add
the rule, or each drop the other's VM.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from vistack.drivers.vm_rules import RuleKind, VmGroupRule
from vistack.vsphere.lookup import ClusterRef, Lookup
from vistack.vsphere.properties import moref_of, retrieve_one
from vistack.vsphere.session import Client, VCenterSession
from vistack.vsphere.tasks import wait_for_task
from vistack.vsphere.vmomi import vim


class ClusterLocks:
    """One lock per cluster name, made on first use."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}

    def of(self, cluster: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(cluster, threading.Lock())


class DrsRules:
    """VM-VM rules of the clusters one `VCenterSession` manages."""

    def __init__(self, session: VCenterSession, lookup: Lookup, *, task_timeout: float) -> None:
        self._session = session
        self._lookup = lookup
        self._timeout = task_timeout
        self._locks = ClusterLocks()

    # -- the driver's calls -------------------------------------------------------------------

    def set_rule(
        self,
        cluster: str,
        name: str,
        kind: RuleKind,
        vm_uuids: Sequence[str],
        *,
        mandatory: bool,
    ) -> VmGroupRule | None:
        def run(client: Client) -> VmGroupRule | None:
            ref = self._lookup.cluster(client, cluster)
            vms = self._cluster_vms(client, ref, vm_uuids)
            existing = self._raw_rules(client, ref).get(name)
            if len(vms) < 2:
                if existing is not None:
                    self._reconfigure(client, ref, _remove(existing))
                return None
            info = _rule_info(kind, name, list(vms.values()), mandatory)
            if existing is None:
                self._reconfigure(client, ref, vim.cluster.RuleSpec(operation="add", info=info))
            elif not _same(existing, kind, vms.values(), mandatory):
                info.key = existing.key
                self._reconfigure(client, ref, vim.cluster.RuleSpec(operation="edit", info=info))
            found = self._raw_rules(client, ref).get(name)
            return None if found is None else self._rule(client, found)

        with self._locks.of(cluster):
            return self._session.call(run, idempotent=False)

    def delete_rule(self, cluster: str, name: str) -> bool:
        def run(client: Client) -> bool:
            ref = self._lookup.cluster(client, cluster)
            existing = self._raw_rules(client, ref).get(name)
            if existing is None:
                return False
            self._reconfigure(client, ref, _remove(existing))
            return True

        with self._locks.of(cluster):
            return self._session.call(run, idempotent=False)

    def list_rules(self, cluster: str) -> list[VmGroupRule]:
        def run(client: Client) -> list[VmGroupRule]:
            ref = self._lookup.cluster(client, cluster)
            raw = self._raw_rules(client, ref)
            return [self._rule(client, raw[n]) for n in sorted(raw)]

        return self._session.call(run)

    # -- helpers ------------------------------------------------------------------------------

    def _raw_rules(self, client: Client, ref: ClusterRef) -> dict[str, Any]:
        """name → the pyVmomi rule info of the cluster's VM-VM rules (VM-host rules and others
        are the operator's: never read as ours, never touched)."""
        props = retrieve_one(
            client, client.moref("ClusterComputeResource", ref.moref), ["configurationEx"]
        )
        config = props.get("configurationEx") if props is not None else None
        rules = getattr(config, "rule", None) or ()
        return {
            str(r.name): r
            for r in rules
            if isinstance(r, (vim.cluster.AffinityRuleSpec, vim.cluster.AntiAffinityRuleSpec))
        }

    def _cluster_vms(
        self, client: Client, ref: ClusterRef, vm_uuids: Sequence[str]
    ) -> dict[str, Any]:
        """instance UUID → VM reference, for the VMs that exist and run in this cluster."""
        hosts = set(ref.hosts)
        found: dict[str, Any] = {}
        for instance_uuid in sorted(set(vm_uuids)):
            moref = self._lookup.find_vm(client, instance_uuid)
            if moref is None:
                continue
            vm = client.moref("VirtualMachine", moref)
            props = retrieve_one(client, vm, ["runtime.host"])
            if props is not None and props.get("runtime.host") in hosts:
                found[instance_uuid] = vm
        return found

    def _reconfigure(self, client: Client, ref: ClusterRef, change: Any) -> None:
        spec = vim.cluster.ConfigSpecEx(rulesSpec=[change])
        cluster = client.moref("ClusterComputeResource", ref.moref)
        task = cluster.ReconfigureComputeResource_Task(spec=spec, modify=True)
        wait_for_task(client, task, self._timeout)

    def _rule(self, client: Client, raw: Any) -> VmGroupRule:
        uuids = []
        for vm in raw.vm or ():
            props = retrieve_one(client, vm, ["config.instanceUuid"])
            if props is not None and props.get("config.instanceUuid"):
                uuids.append(str(props.get("config.instanceUuid")))
        kind = (
            RuleKind.AFFINITY
            if isinstance(raw, vim.cluster.AffinityRuleSpec)
            else RuleKind.ANTI_AFFINITY
        )
        return VmGroupRule(
            name=str(raw.name),
            kind=kind,
            vm_uuids=tuple(sorted(uuids)),
            mandatory=bool(raw.mandatory),
            enabled=bool(raw.enabled),
            key=str(raw.key),
        )


def _rule_info(kind: RuleKind, name: str, vms: list[Any], mandatory: bool) -> Any:
    cls = (
        vim.cluster.AffinityRuleSpec
        if kind is RuleKind.AFFINITY
        else vim.cluster.AntiAffinityRuleSpec
    )
    return cls(name=name, enabled=True, mandatory=mandatory, userCreated=True, vm=vms)


def _same(raw: Any, kind: RuleKind, vms: Any, mandatory: bool) -> bool:
    """Whether the rule already says this (then no reconfigure is sent)."""
    wanted = (
        vim.cluster.AffinityRuleSpec
        if kind is RuleKind.AFFINITY
        else vim.cluster.AntiAffinityRuleSpec
    )
    return (
        isinstance(raw, wanted)
        and bool(raw.enabled)
        and bool(raw.mandatory) == mandatory
        and sorted(moref_of(v) for v in raw.vm or ()) == sorted(moref_of(v) for v in vms)
    )


def _remove(raw: Any) -> Any:
    return vim.cluster.RuleSpec(operation="remove", removeKey=raw.key)
