"""The networks Nova's `os-networks` and `os-tenant-networks` proxies show (2.1 to 2.35): the
caller's view of Neutron's networks, read with the caller's rights."""

from __future__ import annotations

from typing import Any

from vistack.common.context import RequestContext
from vistack.common.errors import NotFound, VistackError
from vistack.network.domain.service import NetworkService


class NetworkProxy:
    """Reads of Neutron's networks for the proxies."""

    def __init__(self, networks: NetworkService) -> None:
        self._networks = networks

    def list_networks(self, context: RequestContext) -> list[dict[str, Any]]:
        return self._networks.list_networks(context)

    def get(self, context: RequestContext, network_id: str) -> dict[str, Any]:
        """:raises NotFound: Nova's "Network not found" for one the caller cannot see."""
        try:
            return self._networks.get_network(context, network_id)
        except VistackError as exc:
            if exc.status == 404:
                raise NotFound("Network not found") from None
            raise
