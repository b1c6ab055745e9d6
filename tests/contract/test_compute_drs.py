"""Contract: DRS VM-VM rules (server groups) and suspend, on the fake and the embedded vCenter.

On the simulator each rule is also read behind the driver's back, straight from the cluster's
`configurationEx.rule` with pyVmomi: what an operator sees in the cluster's configuration.
"""

from __future__ import annotations

import uuid
from typing import Any, cast

import pytest

from tests.contract.conftest import Backend, new_name, vm_spec
from vistack.drivers.errors import InvalidStateError, NotFoundError
from vistack.drivers.models import PowerState
from vistack.drivers.vm_rules import RuleKind


def _vms(backend: Backend, count: int, cluster: str | None = None) -> list[str]:
    compute = backend.drivers.compute
    target = cluster or backend.drivers.topology.clusters[0]
    return [compute.create_vm(vm_spec(backend, cluster=target)).instance_uuid for _ in range(count)]


def _in_vcenter(backend: Backend, cluster: str) -> dict[str, dict[str, Any]]:
    """The cluster's VM-VM rules as vCenter stores them: name → type, VMs, flags."""
    if backend.fake is not None:
        return {
            r.name: {
                "type": r.kind.value,
                "vms": sorted(r.vm_uuids),
                "mandatory": r.mandatory,
                "enabled": r.enabled,
            }
            for r in backend.fake.compute.list_vm_group_rules(cluster)
        }
    from vistack.vsphere.compute import VSphereCompute
    from vistack.vsphere.vmomi import vim

    compute = cast(VSphereCompute, backend.drivers.compute)

    def read(client: Any) -> dict[str, dict[str, Any]]:
        ref = compute._lookup.cluster(client, cluster)
        obj = client.moref("ClusterComputeResource", ref.moref)
        collector = client.content.propertyCollector
        spec = vim.PropertyCollector.FilterSpec(
            objectSet=[vim.PropertyCollector.ObjectSpec(obj=obj)],
            propSet=[
                vim.PropertyCollector.PropertySpec(
                    type=vim.ClusterComputeResource, pathSet=["configurationEx"]
                )
            ],
        )
        (content,) = collector.RetrieveContents([spec])
        config = content.propSet[0].val
        found = {}
        for rule in config.rule or ():
            uuids = []
            for vm in rule.vm or ():
                vm_spec_ = vim.PropertyCollector.FilterSpec(
                    objectSet=[vim.PropertyCollector.ObjectSpec(obj=vm)],
                    propSet=[
                        vim.PropertyCollector.PropertySpec(
                            type=vim.VirtualMachine, pathSet=["config.instanceUuid"]
                        )
                    ],
                )
                (vm_content,) = collector.RetrieveContents([vm_spec_])
                uuids.append(vm_content.propSet[0].val)
            kind = "affinity" if isinstance(rule, vim.cluster.AffinityRuleSpec) else None
            if isinstance(rule, vim.cluster.AntiAffinityRuleSpec):
                kind = "anti-affinity"
            found[rule.name] = {
                "type": kind,
                "vms": sorted(uuids),
                "mandatory": bool(rule.mandatory),
                "enabled": bool(rule.enabled),
            }
        return found

    result: dict[str, dict[str, Any]] = compute._session.call(read)
    return result


def test_a_rule_is_created_with_the_vms_then_edited_then_removed(backend: Backend) -> None:
    compute = backend.drivers.compute
    cluster = backend.drivers.topology.clusters[0]
    a, b, c = _vms(backend, 3)
    name = f"vistack-{uuid.uuid4()}"
    rule = compute.set_vm_group_rule(cluster, name, RuleKind.ANTI_AFFINITY, [a, b], mandatory=True)
    assert rule is not None
    assert (rule.name, rule.kind, rule.vm_uuids) == (
        name,
        RuleKind.ANTI_AFFINITY,
        tuple(sorted([a, b])),
    )
    assert rule.mandatory and rule.enabled
    seen = _in_vcenter(backend, cluster)[name]
    assert seen == {
        "type": "anti-affinity",
        "vms": sorted([a, b]),
        "mandatory": True,
        "enabled": True,
    }
    grown = compute.set_vm_group_rule(
        cluster, name, RuleKind.ANTI_AFFINITY, [a, b, c], mandatory=True
    )
    assert grown is not None and grown.key == rule.key
    assert _in_vcenter(backend, cluster)[name]["vms"] == sorted([a, b, c])
    # Down to one VM: a rule needs two, so it goes.
    assert (
        compute.set_vm_group_rule(cluster, name, RuleKind.ANTI_AFFINITY, [a], mandatory=True)
        is None
    )
    assert name not in _in_vcenter(backend, cluster)
    assert name not in {r.name for r in compute.list_vm_group_rules(cluster)}


def test_affinity_rule_optional_and_listed(backend: Backend) -> None:
    compute = backend.drivers.compute
    cluster = backend.drivers.topology.clusters[0]
    a, b = _vms(backend, 2)
    name = f"vistack-{uuid.uuid4()}"
    compute.set_vm_group_rule(cluster, name, RuleKind.AFFINITY, [a, b], mandatory=False)
    (listed,) = [r for r in compute.list_vm_group_rules(cluster) if r.name == name]
    assert (listed.kind, listed.mandatory, listed.enabled) == (RuleKind.AFFINITY, False, True)
    assert listed.vm_uuids == tuple(sorted([a, b]))
    assert _in_vcenter(backend, cluster)[name]["type"] == "affinity"
    assert compute.delete_vm_group_rule(cluster, name) is True
    assert compute.delete_vm_group_rule(cluster, name) is False
    assert name not in _in_vcenter(backend, cluster)


def test_missing_vms_and_vms_of_other_clusters_are_left_out(backend: Backend) -> None:
    compute = backend.drivers.compute
    first, second = backend.drivers.topology.clusters[:2]
    a, b = _vms(backend, 2, first)
    (elsewhere,) = _vms(backend, 1, second)
    name = f"vistack-{uuid.uuid4()}"
    rule = compute.set_vm_group_rule(
        first, name, RuleKind.ANTI_AFFINITY, [a, b, elsewhere, str(uuid.uuid4())], mandatory=True
    )
    assert rule is not None and rule.vm_uuids == tuple(sorted([a, b]))
    # A VM destroyed since drops out of what the rule shows, and out of the next update.
    compute.destroy_vm(b)
    again = compute.set_vm_group_rule(first, name, RuleKind.ANTI_AFFINITY, [a, b], mandatory=True)
    assert again is None and name not in _in_vcenter(backend, first)


def test_rules_of_an_unknown_cluster_are_not_found(backend: Backend) -> None:
    compute = backend.drivers.compute
    with pytest.raises(NotFoundError):
        compute.list_vm_group_rules("no-such-cluster")
    with pytest.raises(NotFoundError):
        compute.set_vm_group_rule(
            "no-such-cluster", new_name(), RuleKind.AFFINITY, [], mandatory=True
        )
    with pytest.raises(NotFoundError):
        compute.delete_vm_group_rule("no-such-cluster", new_name())


def test_suspend_then_power_on_resumes(backend: Backend) -> None:
    compute = backend.drivers.compute
    (vm,) = _vms(backend, 1)
    compute.power_on(vm)
    compute.suspend(vm)
    assert compute.get_vm(vm).power_state is PowerState.SUSPENDED
    with pytest.raises(InvalidStateError):
        compute.suspend(vm)
    compute.power_on(vm)
    assert compute.get_vm(vm).power_state is PowerState.ON
    with pytest.raises(NotFoundError):
        compute.suspend(str(uuid.uuid4()))


@pytest.mark.vcsim_cannot_prove("vcsim suspends a powered-off VM; vCenter refuses it")
def test_suspend_of_a_powered_off_vm_is_refused(backend: Backend) -> None:
    compute = backend.drivers.compute
    (vm,) = _vms(backend, 1)
    with pytest.raises(InvalidStateError):
        compute.suspend(vm)


def test_a_clone_runs_in_the_cluster_asked_even_from_another_clusters_template(
    backend: Backend,
) -> None:
    """Server groups place members by cluster: a clone must run where it was asked, whichever
    cluster made the image's template (vcsim's clone stays on the template's host; the driver
    moves it, as vCenter's DRS would have placed it)."""
    compute = backend.drivers.compute
    first, second = backend.drivers.topology.clusters[:2]
    template = backend.template()  # made in the first cluster
    vm = compute.create_vm(vm_spec(backend, cluster=second, template=template))
    assert vm.cluster == second
    hosts = next(c.hosts for c in compute.list_clusters() if c.name == second)
    assert vm.host in hosts
    assert compute.get_vm(vm.instance_uuid).cluster == second
    assert first != second
