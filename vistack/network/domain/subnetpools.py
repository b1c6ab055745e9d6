"""Subnet pools: `/v2.0/subnetpools` and allocating a subnet's CIDR from one.

A pool is a set of prefixes of one IP version (kept compacted, as Neutron's) with prefix
length bounds. A subnet created with `subnetpool_id` (or `use_default_subnetpool`) gets the
first free block of the asked length (`prefixlen`, else the pool's default) that overlaps
neither the pool's other subnets nor its network's; or, given a `cidr`, exactly that block
if it is free. Every allocation from a pool first updates the pool's row (`lock_subnetpool`):
concurrent creates are serialised there, so two can never pick the same block, and the pool
cannot be deleted or shrunk under them. Address scopes do not exist here: only a null
`address_scope_id` is accepted.
"""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from vistack.common.clock import utcnow
from vistack.common.context import RequestContext
from vistack.common.policy import PolicyEngine
from vistack.network.db.repository import Collision, NetworkStore, Unit
from vistack.network.db.sharing_tables import SubnetPoolRow, subnetpool_of
from vistack.network.db.tables import SubnetRow
from vistack.network.domain import query
from vistack.network.domain.attributes import boolean, check_attributes, named_view
from vistack.network.domain.errors import (
    NeutronBadRequest,
    NeutronConflict,
    NeutronNotFound,
    invalid,
)

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
#: What a subnet create may carry beyond the core attributes, for an allocation from a pool.
SUBNET_ATTRIBUTES = frozenset({"prefixlen", "use_default_subnetpool"})
BOUNDS = ("min_prefixlen", "max_prefixlen", "default_prefixlen")
POOL_UPDATE = {
    "name",
    "description",
    "prefixes",
    "is_default",
    "default_quota",
    "address_scope_id",
    *BOUNDS,
}
POOL_CREATE = POOL_UPDATE | {"shared", "project_id", "tenant_id"}
#: Per version: address bits, Neutron's default minimum prefix length, quota unit.
BITS = {4: 32, 6: 128}
DEFAULT_MIN = {4: 8, 6: 64}
QUOTA_UNIT = {4: 32, 6: 64}


def _int(value: Any, name: str, low: int = 0, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise invalid(f"'{value}' is not an integer for {name}.")
    try:
        number = int(value)
    except ValueError:
        raise invalid(f"'{value}' is not an integer for {name}.") from None
    if number < low or (high is not None and number > high):
        bound = f"{low}..{high}" if high is not None else f"{low} or more"
        raise invalid(f"{name} {number} is out of range ({bound}).")
    return number


def _text(value: Any, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > 255:
        raise invalid(f"'{value}' is not a valid string (at most 255 characters) for {name}.")
    return value


def _cidr(value: Any) -> IPNetwork:
    if not isinstance(value, str):
        raise invalid(f"'{value}' is not a valid IP subnet.")
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise invalid(f"'{value}' is not a valid IP subnet.") from None
    if str(network) != value:
        raise invalid(f"'{value}' isn't a recommended CIDR, '{network}' is recommended.")
    return network


def parse_prefixes(value: Any, version: int | None = None) -> tuple[int, list[IPNetwork]]:
    """The prefixes' IP version and their compacted form (overlaps and neighbours merged)."""
    if not isinstance(value, list) or not value:
        raise NeutronBadRequest("Empty subnet pool prefix list.", "EmptySubnetPoolPrefixList")
    networks = [_cidr(v) for v in value]
    versions = {n.version for n in networks} | ({version} if version is not None else set())
    if len(versions) != 1:
        raise NeutronBadRequest(
            "Cannot mix IPv4 and IPv6 prefixes in a subnet pool.", "PrefixVersionMismatch"
        )
    found = versions.pop()
    return found, _compact(networks)


def _compact(networks: Iterable[IPNetwork]) -> list[IPNetwork]:
    by_version: dict[int, list[Any]] = {}
    for network in networks:
        by_version.setdefault(network.version, []).append(network)
    out: list[IPNetwork] = []
    for version in sorted(by_version):
        out.extend(ipaddress.collapse_addresses(by_version[version]))
    return out


def _subtract(blocks: Iterable[IPNetwork], taken: Iterable[IPNetwork]) -> list[IPNetwork]:
    """`blocks` without the addresses of `taken` (all one IP version)."""
    free = list(blocks)
    for used in taken:
        rest: list[IPNetwork] = []
        for block in free:
            if not block.overlaps(used):
                rest.append(block)
            elif block.prefixlen < used.prefixlen:
                rest.extend(block.address_exclude(used))  # type: ignore[arg-type]
            # else: `used` covers `block` entirely
        free = rest
    return _compact(free)


def _covered(network: IPNetwork, blocks: Sequence[IPNetwork]) -> bool:
    return any(network.subnet_of(block) for block in blocks)  # type: ignore[arg-type]


def pool_not_found(pool_id: str) -> NeutronNotFound:
    return NeutronNotFound(f"Subnet pool {pool_id} could not be found.", "SubnetPoolNotFound")


def _target(row: SubnetPoolRow) -> dict[str, Any]:
    return {"target.project_id": row.project_id, "target.shared": row.shared}


def pool_view(row: SubnetPoolRow) -> dict[str, Any]:
    """The pool as Neutron renders it: the prefix lengths as strings (Neutron's own quirk,
    which its tempest tests compare against)."""
    return {
        **named_view(row),
        "ip_version": row.ip_version,
        "prefixes": list(row.prefixes),
        "default_prefixlen": str(row.default_prefixlen),
        "min_prefixlen": str(row.min_prefixlen),
        "max_prefixlen": str(row.max_prefixlen),
        "shared": row.shared,
        "is_default": row.default_of_version is not None,
        "default_quota": row.default_quota,
        "address_scope_id": None,
        "tags": list(row.tags or []),
        "created_at": query.stamp(row.created_at),
        "updated_at": query.stamp(row.updated_at),
        "revision_number": row.revision_number,
    }


def _check_bounds(version: int, low: int, high: int, default: int) -> None:
    if high > BITS[version]:
        raise NeutronBadRequest(
            f"Illegal prefix bounds: max_prefixlen={high}, ip_version_max={BITS[version]}.",
            "IllegalSubnetPoolPrefixBounds",
        )
    if low > high:
        raise NeutronBadRequest(
            f"Illegal prefix bounds: min_prefixlen={low}, max_prefixlen={high}.",
            "IllegalSubnetPoolPrefixBounds",
        )
    if not low <= default <= high:
        raise NeutronBadRequest(
            f"Illegal prefix bounds: default_prefixlen={default} must be within "
            f"min_prefixlen={low} and max_prefixlen={high}.",
            "IllegalSubnetPoolPrefixBounds",
        )


def _address_scope(attrs: dict[str, Any]) -> None:
    if attrs.get("address_scope_id") is not None:
        raise invalid(
            "address scopes are not supported by this cloud: leave address_scope_id unset (null)."
        )


def _default_exists() -> NeutronBadRequest:
    return invalid(
        "A default subnetpool for this IP family has already been set. Only one default "
        "may exist per IP family"
    )


# ---------------------------------------------------------------- a subnet's allocation


@dataclass(frozen=True)
class PoolAsk:
    """A subnet create's request for a CIDR from a pool (None: the version's default)."""

    pool_id: str | None
    prefixlen: int | None


def read_ask(attrs: dict[str, Any]) -> PoolAsk | None:
    """The pool part of a subnet create, or None for a plain `cidr` subnet."""
    pool_id = attrs.get("subnetpool_id")
    use_default = boolean(attrs.get("use_default_subnetpool", False), "use_default_subnetpool")
    prefixlen = attrs.get("prefixlen")
    if pool_id is not None and use_default:
        raise invalid("subnetpool_id and use_default_subnetpool cannot both be specified.")
    if pool_id is None and not use_default:
        if prefixlen is not None:
            raise invalid(
                "prefixlen sizes an allocation from a subnet pool: give subnetpool_id or "
                "use_default_subnetpool with it, or a cidr without it."
            )
        return None
    if prefixlen is not None and attrs.get("cidr") is not None:
        raise invalid("cidr and prefixlen must not be supplied together.")
    if pool_id is not None and not isinstance(pool_id, str):
        raise invalid(f"'{pool_id}' is not a valid subnetpool_id.")
    length = _int(prefixlen, "prefixlen", 0, 128) if prefixlen is not None else None
    return PoolAsk(pool_id, length)


def resolve(
    unit: Unit, policy: PolicyEngine, context: RequestContext, ask: PoolAsk, version: int
) -> str:
    """The id of the pool the subnet asks for, visible to the caller and of its version."""
    if ask.pool_id is None:
        row = unit.default_subnetpool(version)
        if row is None or not policy.check("get_subnetpool", context, _target(row)):
            raise invalid(
                f"No default subnetpool for IPv{version} is defined: give a subnetpool_id or "
                "a cidr."
            )
    else:
        row = unit.subnetpool(ask.pool_id)
        if row is None or not policy.check("get_subnetpool", context, _target(row)):
            raise pool_not_found(ask.pool_id)
    if row.ip_version != version:
        raise invalid(f"Cannot allocate IPv{version} subnet from IPv{row.ip_version} subnet pool.")
    return row.id


def check_affinity(network_subnets: Sequence[SubnetRow], pool_id: str | None, version: int) -> None:
    """Neutron's rule: a network's subnets of one IP version all come from the same pool
    (or all from none)."""
    if any(s.ip_version == version and subnetpool_of(s) != pool_id for s in network_subnets):
        raise NeutronBadRequest(
            "Subnets hosted on the same network must be allocated from the same subnet pool: "
            f"this network's IPv{version} subnets "
            + ("come from another pool." if pool_id else "come from a subnet pool."),
            "NetworkSubnetPoolAffinityError",
        )


def lock(unit: Unit, pool_id: str) -> None:
    """The first statement of the allocating transaction (see the module docstring)."""
    if not unit.lock_subnetpool(pool_id):
        raise pool_not_found(pool_id)


def allocate(
    unit: Unit,
    pool_id: str,
    ask: PoolAsk,
    cidr: IPNetwork | None,
    project: str,
    network_subnets: Sequence[SubnetRow],
) -> IPNetwork:
    """The subnet's CIDR from the (locked) pool: `cidr` if given and free, else the first
    free block of the asked length, smallest free blocks first (large ones stay whole)."""
    pool = unit.subnetpool(pool_id)
    if pool is None:
        raise pool_not_found(pool_id)
    length = cidr.prefixlen if cidr is not None else (ask.prefixlen or pool.default_prefixlen)
    if length > pool.max_prefixlen:
        raise NeutronBadRequest(
            f"Unable to allocate subnet with prefix length {length}, maximum allowed prefix "
            f"is {pool.max_prefixlen}.",
            "MaxPrefixSubnetAllocationError",
        )
    if length < pool.min_prefixlen:
        raise NeutronBadRequest(
            f"Unable to allocate subnet with prefix length {length}, minimum allowed prefix "
            f"is {pool.min_prefixlen}.",
            "MinPrefixSubnetAllocationError",
        )
    allocated = unit.subnetpool_subnets(pool.id)
    _check_quota(pool, allocated, project, length)
    prefixes = [ipaddress.ip_network(p) for p in pool.prefixes]
    taken = [
        ipaddress.ip_network(s.cidr)
        for s in [*allocated, *network_subnets]
        if s.ip_version == pool.ip_version
    ]
    if cidr is not None:
        if not _covered(cidr, prefixes):
            raise invalid(
                f"Cannot allocate requested subnet {cidr} from subnet pool {pool.id}: it is "
                f"outside the pool's prefixes ({', '.join(pool.prefixes)})."
            )
        if any(cidr.overlaps(t) for t in taken):
            raise NeutronConflict(
                f"Cannot allocate requested subnet {cidr} from subnet pool {pool.id}: it "
                "overlaps a subnet already allocated.",
                "SubnetAllocationError",
            )
        return cidr
    free = sorted(_subtract(prefixes, taken), key=lambda b: (-b.prefixlen, int(b.network_address)))
    for block in free:
        if block.prefixlen <= length:
            # The block is aligned to its own length, so its first address starts the pick.
            return ipaddress.ip_network(f"{block.network_address}/{length}")
    raise NeutronConflict(
        f"Insufficient prefix space to allocate subnet size /{length} from subnet pool "
        f"{pool.id}: add prefixes to the pool or ask for a smaller subnet.",
        "SubnetAllocationError",
    )


def _check_quota(
    pool: SubnetPoolRow, allocated: Sequence[SubnetRow], project: str, length: int
) -> None:
    """`default_quota`: per project, addresses (IPv4) or /64 networks (IPv6) of the pool."""
    if pool.default_quota is None:
        return
    unit_bits = QUOTA_UNIT[pool.ip_version]

    def units(prefixlen: int) -> int:
        return int(2 ** max(unit_bits - prefixlen, 0))

    used = sum(
        units(ipaddress.ip_network(s.cidr).prefixlen) for s in allocated if s.project_id == project
    )
    if used + units(length) > pool.default_quota:
        raise NeutronConflict(
            "Per-tenant subnet pool prefix quota exceeded.", "SubnetPoolQuotaExceeded"
        )


# ---------------------------------------------------------------- /v2.0/subnetpools


def _prefix_body(body: Any) -> list[Any]:
    if not isinstance(body, dict) or set(body) != {"prefixes"}:
        raise NeutronBadRequest("Resource body required: {'prefixes': ['<cidr>', ...]}.")
    value = body["prefixes"]
    if not isinstance(value, list):
        raise invalid("prefixes must be a list of CIDRs.")
    return value


class SubnetPoolService:
    """Subnet pool operations; allocation for subnets is the module functions above."""

    def __init__(self, store: NetworkStore, policy: PolicyEngine) -> None:
        self._store = store
        self._policy = policy

    def _visible(self, unit: Unit, context: RequestContext, pool_id: str) -> SubnetPoolRow:
        row = unit.subnetpool(pool_id)
        if row is None or not self._policy.check("get_subnetpool", context, _target(row)):
            raise pool_not_found(pool_id)
        return row

    def _locked(
        self, unit: Unit, context: RequestContext, pool_id: str, action: str
    ) -> SubnetPoolRow:
        """The pool, locked for the change `action` (policy) that the caller may make."""
        lock(unit, pool_id)
        row = self._visible(unit, context, pool_id)
        self._policy.authorize(action, context, _target(row))
        return row

    def taggable(
        self, unit: Unit, context: RequestContext, pool_id: str
    ) -> tuple[SubnetPoolRow, dict[str, Any]]:
        """The pool and its policy target, for the tags API (404 when the caller cannot see it)."""
        row = self._visible(unit, context, pool_id)
        return row, _target(row)

    def list_pools(self, context: RequestContext) -> list[dict[str, Any]]:
        with self._store.transaction() as unit:
            return [
                pool_view(row)
                for row in unit.subnetpools()
                if self._policy.check("get_subnetpool", context, _target(row))
            ]

    def get_pool(self, context: RequestContext, pool_id: str) -> dict[str, Any]:
        with self._store.transaction() as unit:
            return pool_view(self._visible(unit, context, pool_id))

    def create_pool(self, context: RequestContext, body: Any) -> dict[str, Any]:
        attrs = check_attributes(body, POOL_CREATE, "subnetpool")
        if "prefixes" not in attrs:
            raise NeutronBadRequest(
                "Failed to parse request. Required attribute 'prefixes' not specified"
            )
        _address_scope(attrs)
        version, prefixes = parse_prefixes(attrs["prefixes"])
        bits = BITS[version]
        low = _int(attrs.get("min_prefixlen", DEFAULT_MIN[version]), "min_prefixlen", 0, bits)
        high = _int(attrs.get("max_prefixlen", bits), "max_prefixlen", 0, 128)
        default = _int(attrs.get("default_prefixlen", low), "default_prefixlen", 0, 128)
        _check_bounds(version, low, high, default)
        shared = boolean(attrs.get("shared", False), "shared")
        is_default = boolean(attrs.get("is_default", False), "is_default")
        quota = attrs.get("default_quota")
        project = attrs.get("project_id") or attrs.get("tenant_id") or context.project_id
        if not project or not isinstance(project, str):
            raise NeutronBadRequest("A project_id is required (the token is not project-scoped).")
        target = {"target.project_id": project, "target.shared": shared}
        self._policy.authorize("create_subnetpool", context, target)
        if shared:
            self._policy.authorize("create_subnetpool:shared", context, target)
        if is_default:
            self._policy.authorize("create_subnetpool:is_default", context, target)
        now = utcnow()
        row = SubnetPoolRow(
            id=str(uuid.uuid4()),
            project_id=project,
            name=_text(attrs.get("name"), "name"),
            description=_text(attrs.get("description"), "description"),
            ip_version=version,
            prefixes=[str(p) for p in prefixes],
            default_prefixlen=default,
            min_prefixlen=low,
            max_prefixlen=high,
            shared=shared,
            default_of_version=version if is_default else None,
            default_quota=_int(quota, "default_quota") if quota is not None else None,
            generation=0,
            tags=[],
            created_at=now,
            updated_at=now,
            revision_number=0,
        )
        try:
            with self._store.transaction() as unit:
                unit.add(row)
                return pool_view(row)
        except Collision:
            raise _default_exists() from None

    def update_pool(self, context: RequestContext, pool_id: str, body: Any) -> dict[str, Any]:
        raw = body.get("subnetpool") if isinstance(body, dict) else None
        if isinstance(raw, dict) and {"shared", "ip_version"} & set(raw):
            raise invalid("Cannot update read-only attribute shared or ip_version.")
        attrs = check_attributes(body, POOL_UPDATE, "subnetpool")
        _address_scope(attrs)
        try:
            with self._store.transaction() as unit:
                row = self._locked(unit, context, pool_id, "update_subnetpool")
                if "is_default" in attrs:
                    self._policy.authorize("update_subnetpool:is_default", context, _target(row))
                    is_default = boolean(attrs["is_default"], "is_default")
                    row.default_of_version = row.ip_version if is_default else None
                if "prefixes" in attrs:
                    row.prefixes = self._grown(row, attrs["prefixes"])
                bounds = {b: getattr(row, b) for b in BOUNDS}
                for name in BOUNDS:
                    if attrs.get(name) is not None:
                        bounds[name] = _int(attrs[name], name, 0, 128)
                _check_bounds(
                    row.ip_version,
                    bounds["min_prefixlen"],
                    bounds["max_prefixlen"],
                    bounds["default_prefixlen"],
                )
                for name, value in bounds.items():
                    setattr(row, name, value)
                if "default_quota" in attrs:
                    quota = attrs["default_quota"]
                    row.default_quota = _int(quota, "default_quota") if quota is not None else None
                if "name" in attrs:
                    row.name = _text(attrs["name"], "name")
                if "description" in attrs:
                    row.description = _text(attrs["description"], "description")
                self.touch(row)
                unit.flush()
                return pool_view(row)
        except Collision:
            raise _default_exists() from None

    @staticmethod
    def _grown(row: SubnetPoolRow, value: Any) -> list[str]:
        """The new prefixes, which must keep every address the pool had."""
        _, new = parse_prefixes(value, row.ip_version)
        old = [ipaddress.ip_network(p) for p in row.prefixes]
        lost = [str(p) for p in old if not _covered(p, new)]
        if lost:
            raise NeutronBadRequest(
                "Illegal update to prefixes: existing prefixes must be a subset of the new "
                f"prefixes ({', '.join(lost)} would be lost); use remove_prefixes to shrink "
                "a pool.",
                "IllegalSubnetPoolPrefixUpdate",
            )
        return [str(p) for p in new]

    @staticmethod
    def touch(row: SubnetPoolRow) -> None:
        row.updated_at = utcnow()
        row.revision_number = (row.revision_number or 0) + 1

    def add_prefixes(self, context: RequestContext, pool_id: str, body: Any) -> list[str]:
        added = _prefix_body(body)
        with self._store.transaction() as unit:
            row = self._locked(unit, context, pool_id, "update_subnetpool")
            _, merged = parse_prefixes([*row.prefixes, *added], row.ip_version)
            row.prefixes = [str(p) for p in merged]
            self.touch(row)
            unit.flush()
            return list(row.prefixes)

    def remove_prefixes(self, context: RequestContext, pool_id: str, body: Any) -> list[str]:
        removed = _prefix_body(body)
        with self._store.transaction() as unit:
            row = self._locked(unit, context, pool_id, "update_subnetpool")
            _, gone = parse_prefixes(removed, row.ip_version) if removed else (0, [])
            left = _subtract([ipaddress.ip_network(p) for p in row.prefixes], gone)
            if not left:
                raise NeutronBadRequest(
                    "Empty subnet pool prefix list: a pool keeps at least one prefix.",
                    "EmptySubnetPoolPrefixList",
                )
            in_use = [
                s.cidr
                for s in unit.subnetpool_subnets(row.id)
                if not _covered(ipaddress.ip_network(s.cidr), left)
            ]
            if in_use:
                raise NeutronBadRequest(
                    f"Illegal update to prefixes: subnet(s) {', '.join(in_use)} are allocated "
                    "from the prefixes to remove; delete them first.",
                    "IllegalSubnetPoolPrefixUpdate",
                )
            row.prefixes = [str(p) for p in left]
            self.touch(row)
            unit.flush()
            return list(row.prefixes)

    def delete_pool(self, context: RequestContext, pool_id: str) -> None:
        try:
            with self._store.transaction() as unit:
                row = self._locked(unit, context, pool_id, "delete_subnetpool")
                if unit.subnetpool_subnets(row.id):
                    raise self._in_use(pool_id)
                unit.delete(row)
        except Collision:
            raise self._in_use(pool_id) from None

    @staticmethod
    def _in_use(pool_id: str) -> NeutronConflict:
        return NeutronConflict(
            f"Unable to complete operation on subnet pool {pool_id}: subnets are still "
            "allocated from it; delete them first.",
            "SubnetPoolInUse",
        )
