"""Server group policies at build time: which clusters a member may go to, and the DRS rule
that keeps the members of one cluster together or apart.

How Nova's per-host policies map onto vSphere, where a Nova compute host is a *cluster* and
DRS places each VM on one of the cluster's ESXi hosts:

- `affinity`: every member in the cluster of the first one placed, and a mandatory DRS
  **affinity** rule keeping them on one ESXi host.
- `anti-affinity`: a cluster without a member is preferred; a cluster that holds members stays
  valid as long as it has more ESXi hosts than members there (times `max_server_per_host`),
  because inside it a mandatory DRS **anti-affinity** rule keeps each member on its own host.
  With `max_server_per_host` N > 1 the cluster's members are dealt round-robin into N
  anti-affinity rules (`vistack-<group>-1` … `-N`): each host then runs at most one member of
  each rule, so at most N of the group.
- `soft-affinity` / `soft-anti-affinity`: only a preference (the clusters of the members, or
  those with the fewest members, when one of them fits; any cluster otherwise), and the DRS
  rule is created non-mandatory.

A rule is named `vistack-<group id>` (N > 1: with `-<k>`), lists the members' VMs in that
cluster, and needs two VMs: it is created when the second member's VM exists (before that VM
powers on, so DRS places it by the rule), edited as members come and go, removed when fewer
than two remain, and removed from every cluster when the group is deleted.

Members built at the same time are placed one at a time: the filter picks the member's cluster
under the group's lock and holds that choice until the build records it, so each sees where
the others go. Before power-on the strict policies are checked again against every member's
recorded cluster (Nova's late check, for what another process placed meanwhile); the member
that would break the policy fails with NoValidHost. Rule changes of one group are serialised
(`_GroupLocks`), and the driver serialises each cluster's, so concurrent builds of one group
never lose a VM from a rule. The locks and holds are this process's; across processes the late
check is what holds the strict policies.

A member that moves (resize or migration to another cluster, unshelve) is allowed where the
strict policy has room (`allowed_for_move`, no preference), and `moved` makes the rules of the
cluster it left and of the one it joined list their members again.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import replace

from vistack.compute.db import server_groups as queries
from vistack.compute.db.store import ComputeStore
from vistack.compute.domain import states
from vistack.compute.domain.clusters import ClusterCapacity
from vistack.compute.domain.models import Server
from vistack.compute.domain.scheduler import NO_VALID_HOST, pick_cluster
from vistack.compute.domain.server_groups import (
    AFFINITY,
    ANTI_AFFINITY,
    SOFT_AFFINITY,
    ServerGroup,
    to_group,
)
from vistack.drivers.compute import ComputeDriver
from vistack.drivers.errors import DriverError, NoCapacityError
from vistack.drivers.models import VMSpec
from vistack.drivers.vm_rules import RuleKind

LOG = logging.getLogger(__name__)


def rule_name(group_id: str) -> str:
    """The DRS rule of a group's members in one cluster."""
    return f"vistack-{group_id}"


def rule_names(group: ServerGroup) -> list[str]:
    per_host = group.max_per_host if group.policy == ANTI_AFFINITY else 1
    if per_host <= 1:
        return [rule_name(group.id)]
    return [f"{rule_name(group.id)}-{k}" for k in range(1, per_host + 1)]


def _fits(cluster: ClusterCapacity, server: Server) -> bool:
    flavor = server.flavor
    return (
        cluster.vcpus_free >= int(flavor["vcpus"])
        and cluster.memory_mb_free >= int(flavor["ram"])
        and cluster.disk_gb_free >= int(flavor["disk"])
    )


def narrow(
    group: ServerGroup,
    placed: Counter[str],
    server: Server,
    candidates: list[ClusterCapacity],
) -> list[ClusterCapacity]:
    """The clusters `server` may go to given the other members' clusters (`placed`: cluster →
    members there); empty when none may (the build then fails with NoValidHost)."""
    fitting = [c for c in candidates if _fits(c, server)]
    if group.policy == AFFINITY:
        if not placed:
            return fitting
        return [c for c in candidates if c.name in placed]
    if group.policy == ANTI_AFFINITY:
        empty = [c for c in fitting if placed[c.name] == 0]
        if empty:
            return empty
        return [c for c in fitting if placed[c.name] < len(c.hosts) * group.max_per_host]
    if group.policy == SOFT_AFFINITY:
        near = [c for c in fitting if c.name in placed]
        return near or candidates
    # soft-anti-affinity: the fitting clusters holding the fewest members.
    if not fitting:
        return candidates
    fewest = min(placed[c.name] for c in fitting)
    return [c for c in fitting if placed[c.name] == fewest]


def allowed_for_move(
    group: ServerGroup, placed: Counter[str], candidates: list[ClusterCapacity]
) -> list[ClusterCapacity]:
    """Where a member may move to (resize, migration; the mover picks among them and leaves
    out the member's own cluster): the strict policies' limits, no preference."""
    if group.policy == AFFINITY:
        return [c for c in candidates if c.name in placed] if placed else candidates
    if group.policy == ANTI_AFFINITY:
        return [c for c in candidates if placed[c.name] < len(c.hosts) * group.max_per_host]
    return candidates


class _GroupLocks:
    STRIPES = 64

    def __init__(self) -> None:
        self._locks = [threading.Lock() for _ in range(self.STRIPES)]

    def of(self, group_id: str) -> threading.Lock:
        return self._locks[hash(group_id) % self.STRIPES]


class GroupPlacement:
    """The build hooks of server groups (`ServerWork.placement_filters`, `before_power_on`,
    `after_undo`) and the removal of a deleted group's rules."""

    def __init__(self, store: ComputeStore, compute: ComputeDriver) -> None:
        self._store = store
        self._compute = compute
        self._locks = _GroupLocks()
        #: server id → (group id, cluster) chosen by `narrow`, until the build records it.
        self._pending: dict[str, tuple[str, str]] = {}
        self._pending_guard = threading.Lock()

    def _group(
        self, server_id: str, *, leaving: str | None = None
    ) -> tuple[ServerGroup, list[tuple[str, str | None]]] | None:
        """The server's group and its live members' (id, cluster), without `leaving`."""
        with self._store.transaction() as unit:
            row = queries.group_of(unit, server_id)
            if row is None:
                return None
            placed = [m for m in queries.placed_members(unit, row.id) if m[0] != leaving]
            return to_group(row), placed

    # ------------------------------------------------------------------ scheduler

    def narrow(self, server: Server, candidates: list[ClusterCapacity]) -> list[ClusterCapacity]:
        """For a build: the one cluster the member goes to (none: NoValidHost), chosen under
        the group's lock and held for it until its build records it, so members built at the
        same time each see where the others go. For a move (resize, migration): the clusters
        the policy allows it to go to, the member's own place not counted."""
        if not server.may_be_in_group:
            return candidates
        found = self._group(server.id)
        if found is None:
            return candidates
        if server.vm_state != states.BUILDING:
            group, members = found
            others = Counter(c for s, c in members if c is not None and s != server.id)
            return allowed_for_move(group, others, candidates)
        with self._locks.of(found[0].id):
            found = self._group(server.id)
            if found is None:
                return candidates
            group, members = found
            where = {s: c for s, c in members if c is not None}
            with self._pending_guard:
                where.update({s: c for s, (g, c) in self._pending.items() if g == group.id})
            where.pop(server.id, None)
            allowed = narrow(group, Counter(where.values()), server, candidates)
            flavor = server.flavor
            chosen = pick_cluster(
                allowed,
                vcpus=int(flavor["vcpus"]),
                memory_mb=int(flavor["ram"]),
                disk_gb=int(flavor["disk"]),
            )
            if chosen is None:
                return []
            with self._pending_guard:
                self._pending[server.id] = (group.id, chosen.name)
            return [chosen]

    def hold_power_on(self, server: Server, spec: VMSpec) -> VMSpec:
        """A member (`narrow` chose its cluster moments ago) stays off until
        `before_power_on` has put it in its group's DRS rule, so DRS places it by the rule."""
        with self._pending_guard:
            member = server.id in self._pending
        return replace(spec, power_on=False) if member else spec

    def _settled(self, server_id: str) -> None:
        """The member's cluster is on its record now (or it will never be): drop the hold."""
        with self._pending_guard:
            self._pending.pop(server_id, None)

    # ------------------------------------------------------------------ DRS rules

    def before_power_on(self, server: Server, spec: VMSpec) -> None:
        """Check the strict policy once more, then put the VM in its group's rule."""
        self._settled(server.id)
        if not server.may_be_in_group:
            return
        found = self._group(server.id)
        if found is None:
            return
        group = found[0]
        with self._locks.of(group.id):
            found = self._group(server.id)
            if found is None:
                return  # the group was deleted meanwhile
            group, members = found
            self._late_check(group, members, server.id, spec.cluster)
            self._sync(group, members, spec.cluster)

    def after_undo(self, server_id: str) -> list[str]:
        """The server's VM is gone: take it out of its group's rule in its cluster."""
        self._settled(server_id)
        found = self._group(server_id, leaving=server_id)
        if found is None:
            return []
        group = found[0]
        with self._store.transaction() as unit:
            cluster = queries.server_cluster(unit, server_id)
        if cluster is None:
            return []
        with self._locks.of(group.id):
            found = self._group(server_id, leaving=server_id)
            if found is None:
                return []
            try:
                self._sync(found[0], found[1], cluster)
            except DriverError as exc:
                return [f"DRS rule {rule_name(group.id)} in cluster {cluster}: {exc}"]
        return []

    def moved(self, server_id: str, old_cluster: str, new_cluster: str) -> list[str]:
        """A member's VM moved to another cluster (resize, migration): its group's rules in
        the old cluster and in the new one are made to list the members there (the move may
        not have recorded the new cluster yet: `new_cluster` is where the VM now is).
        Returns what could not be done (for the move's log)."""
        found = self._group(server_id)
        if found is None:
            return []
        problems = []
        with self._locks.of(found[0].id):
            found = self._group(server_id)
            if found is None:
                return []
            group, members = found
            members = [(s, new_cluster if s == server_id else c) for s, c in members]
            for cluster in sorted({old_cluster, new_cluster}):
                try:
                    self._sync(group, members, cluster)
                except DriverError as exc:
                    problems.append(f"DRS rule {rule_name(group.id)} in cluster {cluster}: {exc}")
        return problems

    def remove_rules(self, group_id: str, then: Callable[[], None]) -> None:
        """Remove the group's rules from every cluster, then run `then` (the group's delete)
        under the group's lock, so no build re-adds a rule in between.

        :raises DriverError: vCenter refused or is away; nothing else was done then.
        """
        base = rule_name(group_id)
        with self._locks.of(group_id):
            for cluster in [c.name for c in self._compute.list_clusters()]:  # added ones too
                for rule in self._compute.list_vm_group_rules(cluster):
                    if rule.name == base or rule.name.startswith(f"{base}-"):
                        self._compute.delete_vm_group_rule(cluster, rule.name)
            then()

    def _late_check(
        self,
        group: ServerGroup,
        members: list[tuple[str, str | None]],
        server_id: str,
        cluster: str,
    ) -> None:
        others = [c for s, c in members if s != server_id and c is not None]
        if group.policy == AFFINITY and any(c != cluster for c in others):
            raise NoCapacityError(NO_VALID_HOST)
        if group.policy == ANTI_AFFINITY:
            here = 1 + sum(1 for c in others if c == cluster)
            hosts = next(
                (len(c.hosts) for c in self._compute.list_clusters() if c.name == cluster), 0
            )
            if here > hosts * group.max_per_host:
                raise NoCapacityError(NO_VALID_HOST)

    def _sync(
        self, group: ServerGroup, members: list[tuple[str, str | None]], cluster: str
    ) -> None:
        """Make the group's rules in `cluster` list exactly its members there."""
        here = [s for s, c in members if c == cluster]
        together = group.policy in (AFFINITY, SOFT_AFFINITY)
        kind = RuleKind.AFFINITY if together else RuleKind.ANTI_AFFINITY
        mandatory = group.policy in (AFFINITY, ANTI_AFFINITY)
        names = rule_names(group)
        for index, name in enumerate(names):
            vms = here[index :: len(names)]
            rule = self._compute.set_vm_group_rule(cluster, name, kind, vms, mandatory=mandatory)
            LOG.info(
                "server group %s: DRS rule %s in %s holds %s",
                group.id,
                name,
                cluster,
                list(rule.vm_uuids) if rule is not None else "nothing (removed)",
            )
