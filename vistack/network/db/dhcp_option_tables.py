"""Extra DHCP options of ports (Neutron's `extra_dhcp_opt`; schema in migration 0012).

One row per (port, option name, IP version): the primary key is what an update replaces by, so
two concurrent updates of one option cannot leave two values. Rows go with their port
(`ondelete="CASCADE"`), as the port's security group memberships do.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from vistack.common.db import Base
from vistack.network.db.tables import ID

#: dnsmasq names are short; a number is at most three digits. Kept small so the primary key
#: stays within MariaDB's index length.
OPT_NAME = String(64)
OPT_VALUE = String(255)


class PortDhcpOptionRow(Base):
    """One option dnsmasq sends to this port only (IPv4 ones; IPv6 ones are kept and shown)."""

    __tablename__ = "network_port_dhcp_opt"

    port_id: Mapped[str] = mapped_column(
        ID, ForeignKey("network_port.id", ondelete="CASCADE"), primary_key=True
    )
    opt_name: Mapped[str] = mapped_column(OPT_NAME, primary_key=True)
    ip_version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    opt_value: Mapped[str] = mapped_column(OPT_VALUE)
