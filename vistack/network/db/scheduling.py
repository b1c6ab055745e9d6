"""Which agent hosts which network (DHCP) and router (L3): the scheduler and the bindings,
kept beside the agent tables because nearly every step is a query over them.

Neutron schedules a network to a DHCP agent when it gets a DHCP-enabled subnet or a port, a
router to an L3 agent when it is created or changes, and everything unhosted when an agent
starts. Here one pass (`schedule`) runs after every committed write of the network store and
on an agent's start: it hosts each network with a DHCP subnet and each router that has no
agent, except those an admin removed from their agent and that have not changed since (the
`unhosted_at` mark), so a manual removal sticks until the next event, as in Neutron.

The agent chosen is the least loaded alive, admin-up agent of the right type, preferring the
resource's availability zone hints (hints, not constraints: with no agent in a hinted zone
another zone serves, rather than nothing).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, func, or_, select

from vistack.common.clock import utcnow
from vistack.network.db.agent_tables import (
    AgentRow,
    NetworkDhcpAgentRow,
    NetworkSchedulingRow,
    RouterL3AgentRow,
    RouterSchedulingRow,
)
from vistack.network.db.l3_tables import RouterRow
from vistack.network.db.repository import Unit
from vistack.network.db.tables import PortRow, SubnetRow

DHCP = "DHCP agent"
L3 = "L3 agent"
METADATA = "Metadata agent"
#: Seconds without a heartbeat after which an agent is dead (Neutron's `agent_down_time`).
AGENT_DOWN_TIME = 75
DHCP_OWNER = "network:dhcp"


def is_alive(row: AgentRow, now: datetime | None = None) -> bool:
    return (now or utcnow()) - row.heartbeat_timestamp <= timedelta(seconds=AGENT_DOWN_TIME)


def candidates(unit: Unit) -> dict[str, list[AgentRow]]:
    """Agent type → its agents that may take new work (alive and admin-up), in one query:
    this runs after every write."""
    query = select(AgentRow).where(
        AgentRow.agent_type.in_((DHCP, L3)), AgentRow.admin_state_up.is_(True)
    )
    now = utcnow()
    out: dict[str, list[AgentRow]] = {}
    for row in unit.session.scalars(query):
        if is_alive(row, now):
            out.setdefault(row.agent_type, []).append(row)
    return out


def _load(unit: Unit, table: type[NetworkDhcpAgentRow] | type[RouterL3AgentRow]) -> dict[str, int]:
    query = select(table.agent_id, func.count()).group_by(table.agent_id)
    return {agent_id: int(count) for agent_id, count in unit.session.execute(query)}


def _pick(agents: Sequence[AgentRow], load: dict[str, int], hints: Iterable[str]) -> AgentRow:
    wanted = set(hints)
    preferred = [a for a in agents if a.availability_zone in wanted] if wanted else []
    return min(preferred or agents, key=lambda a: (load.get(a.id, 0), a.host, a.id))


def _networks_to_host(unit: Unit, include_unhosted: bool) -> list[str]:
    """Networks with a DHCP subnet and no DHCP agent (minus manual removals not since
    followed by a change of one of their subnets or ports, unless `include_unhosted`)."""
    unbound = select(SubnetRow.network_id).where(
        SubnetRow.enable_dhcp.is_(True),
        ~exists().where(NetworkDhcpAgentRow.network_id == SubnetRow.network_id),
    )
    ids = sorted(set(unit.session.scalars(unbound.distinct())))
    if not ids or include_unhosted:
        return ids
    marks = {
        row.network_id: row.unhosted_at
        for row in unit.session.scalars(
            select(NetworkSchedulingRow).where(
                NetworkSchedulingRow.network_id.in_(ids),
                NetworkSchedulingRow.unhosted_at.is_not(None),
            )
        )
    }
    out = []
    for network_id in ids:
        mark = marks.get(network_id)
        if mark is None or _changed_since(unit, network_id, mark):
            out.append(network_id)
    return out


def _changed_since(unit: Unit, network_id: str, moment: datetime) -> bool:
    newer_subnet = exists().where(
        SubnetRow.network_id == network_id,
        or_(SubnetRow.created_at > moment, SubnetRow.updated_at > moment),
    )
    # The DHCP port is the agent's own doing, not an event of the network.
    newer_port = exists().where(
        PortRow.network_id == network_id,
        PortRow.updated_at > moment,
        PortRow.device_owner != DHCP_OWNER,
    )
    return bool(unit.session.scalar(select(or_(newer_subnet, newer_port))))


def _routers_to_host(unit: Unit, include_unhosted: bool) -> list[str]:
    query = select(RouterRow.id, RouterRow.updated_at, RouterSchedulingRow.unhosted_at).outerjoin(
        RouterSchedulingRow, RouterSchedulingRow.router_id == RouterRow.id
    )
    query = query.where(~exists().where(RouterL3AgentRow.router_id == RouterRow.id))
    return sorted(
        router_id
        for router_id, updated_at, unhosted_at in unit.session.execute(query)
        if include_unhosted or unhosted_at is None or updated_at > unhosted_at
    )


def network_hints(unit: Unit, network_ids: Sequence[str]) -> dict[str, list[str]]:
    query = select(NetworkSchedulingRow).where(NetworkSchedulingRow.network_id.in_(network_ids))
    return {row.network_id: list(row.hints or []) for row in unit.session.scalars(query)}


def router_hints(unit: Unit, router_ids: Sequence[str]) -> dict[str, list[str]]:
    query = select(RouterSchedulingRow).where(RouterSchedulingRow.router_id.in_(router_ids))
    return {row.router_id: list(row.hints or []) for row in unit.session.scalars(query)}


def schedule(unit: Unit, *, include_unhosted: bool = False) -> int:
    """Host what needs an agent; returns how many bindings it made (0: it wrote nothing)."""
    made = 0
    agents = candidates(unit)
    if agents.get(DHCP):
        networks = _networks_to_host(unit, include_unhosted)
        made += _host(
            unit,
            networks,
            agents[DHCP],
            NetworkDhcpAgentRow,
            network_hints,
            bind_network,
            _still_unhosted,
        )
    if agents.get(L3):
        routers = _routers_to_host(unit, include_unhosted)
        made += _host(unit, routers, agents[L3], RouterL3AgentRow, router_hints, bind_router)
    return made


def _host(
    unit: Unit,
    item_ids: Sequence[str],
    agents: Sequence[AgentRow],
    table: type[NetworkDhcpAgentRow] | type[RouterL3AgentRow],
    hints_of: Callable[[Unit, Sequence[str]], dict[str, list[str]]],
    bind: Callable[[Unit, str, str], None],
    still_unhosted: Callable[[Unit, str], bool] | None = None,
) -> int:
    """Bind each item to the least loaded of `agents` (those in its zone hints first), counting
    the bindings made; `still_unhosted`, if given, re-checks an item just before."""
    if not item_ids:
        return 0
    made = 0
    load = _load(unit, table)
    hints = hints_of(unit, item_ids)
    for item_id in item_ids:
        if still_unhosted is not None and not still_unhosted(unit, item_id):
            continue
        agent = _pick(agents, load, hints.get(item_id, []))
        bind(unit, item_id, agent.id)
        load[agent.id] = load.get(agent.id, 0) + 1
        made += 1
    return made


def _still_unhosted(unit: Unit, network_id: str) -> bool:
    """Re-check under the network's row lock, with a locking read (which sees what others
    committed meanwhile, even under MariaDB's repeatable read): two concurrent passes must not
    give one network two agents."""
    if unit.network_locked(network_id, shared=False) is None:
        return False  # deleted meanwhile
    query = (
        select(NetworkDhcpAgentRow.agent_id)
        .where(NetworkDhcpAgentRow.network_id == network_id)
        .with_for_update()
    )
    return unit.session.scalars(query).first() is None


def bind_network(unit: Unit, network_id: str, agent_id: str) -> None:
    unit.add(NetworkDhcpAgentRow(network_id=network_id, agent_id=agent_id, created_at=utcnow()))
    mark = unit.session.get(NetworkSchedulingRow, network_id)
    if mark is not None and mark.unhosted_at is not None:
        mark.unhosted_at = None


def unbind_network(unit: Unit, network_id: str, agent_id: str) -> None:
    """Remove the binding and, when no agent is left, mark the network as removed by hand."""
    unit.session.execute(
        delete(NetworkDhcpAgentRow).where(
            NetworkDhcpAgentRow.network_id == network_id, NetworkDhcpAgentRow.agent_id == agent_id
        )
    )
    if dhcp_agent_ids(unit, network_id):
        return
    mark = unit.session.get(NetworkSchedulingRow, network_id)
    if mark is None:
        unit.add(NetworkSchedulingRow(network_id=network_id, hints=[], unhosted_at=utcnow()))
    else:
        mark.unhosted_at = utcnow()
    unit.flush()


def bind_router(unit: Unit, router_id: str, agent_id: str) -> None:
    unit.add(RouterL3AgentRow(router_id=router_id, agent_id=agent_id, created_at=utcnow()))
    mark = unit.session.get(RouterSchedulingRow, router_id)
    if mark is not None and mark.unhosted_at is not None:
        mark.unhosted_at = None


def unbind_router(unit: Unit, router_id: str) -> None:
    unit.session.execute(delete(RouterL3AgentRow).where(RouterL3AgentRow.router_id == router_id))
    mark = unit.session.get(RouterSchedulingRow, router_id)
    if mark is None:
        unit.add(RouterSchedulingRow(router_id=router_id, hints=[], unhosted_at=utcnow()))
    else:
        mark.unhosted_at = utcnow()
    unit.flush()


def dhcp_agent_ids(unit: Unit, network_id: str) -> list[str]:
    query = select(NetworkDhcpAgentRow.agent_id).where(NetworkDhcpAgentRow.network_id == network_id)
    return sorted(unit.session.scalars(query))


def l3_agent_id(unit: Unit, router_id: str) -> str | None:
    row = unit.session.get(RouterL3AgentRow, router_id)
    return row.agent_id if row is not None else None


def networks_of(unit: Unit, agent_id: str) -> list[str]:
    query = select(NetworkDhcpAgentRow.network_id).where(NetworkDhcpAgentRow.agent_id == agent_id)
    return sorted(unit.session.scalars(query))


def routers_of(unit: Unit, agent_id: str) -> list[str]:
    query = select(RouterL3AgentRow.router_id).where(RouterL3AgentRow.agent_id == agent_id)
    return sorted(unit.session.scalars(query))


def hosted_by(unit: Unit, host: str) -> tuple[frozenset[str], frozenset[str]]:
    """(network ids, router ids) the DHCP and L3 agents of `host` host."""
    networks = select(NetworkDhcpAgentRow.network_id).join(
        AgentRow, AgentRow.id == NetworkDhcpAgentRow.agent_id
    )
    routers = select(RouterL3AgentRow.router_id).join(
        AgentRow, AgentRow.id == RouterL3AgentRow.agent_id
    )
    return (
        frozenset(unit.session.scalars(networks.where(AgentRow.host == host))),
        frozenset(unit.session.scalars(routers.where(AgentRow.host == host))),
    )
