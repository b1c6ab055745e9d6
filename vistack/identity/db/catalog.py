"""Regions, services and endpoints."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from vistack.identity.db.tables import EndpointRow, RegionRow, ServiceRow
from vistack.identity.domain.models import Endpoint, Region, Service


class CatalogRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    # regions
    def get_region(self, region_id: str) -> Region | None:
        row = self._session.get(RegionRow, region_id)
        return Region(row.id, row.description or "", row.parent_region_id) if row else None

    def list_regions(self, parent_region_id: str | None = None) -> list[Region]:
        query = select(RegionRow).order_by(RegionRow.id)
        if parent_region_id is not None:
            query = query.where(RegionRow.parent_region_id == parent_region_id)
        return [
            Region(row.id, row.description or "", row.parent_region_id)
            for row in self._session.scalars(query)
        ]

    def put_region(self, region: Region) -> None:
        row = self._session.get(RegionRow, region.id)
        if row is None:
            self._session.add(
                RegionRow(
                    id=region.id,
                    description=region.description,
                    parent_region_id=region.parent_region_id,
                )
            )
        else:
            row.description, row.parent_region_id = region.description, region.parent_region_id
        self._session.flush()

    def delete_region(self, region_id: str) -> None:
        self._session.execute(delete(RegionRow).where(RegionRow.id == region_id))

    # services
    def get_service(self, service_id: str) -> Service | None:
        row = self._session.get(ServiceRow, service_id)
        return _service(row) if row else None

    def list_services(self, type: str | None = None, name: str | None = None) -> list[Service]:
        query = select(ServiceRow).order_by(ServiceRow.type)
        if type is not None:
            query = query.where(ServiceRow.type == type)
        if name is not None:
            query = query.where(ServiceRow.name == name)
        return [_service(row) for row in self._session.scalars(query)]

    def put_service(self, service: Service) -> None:
        row = self._session.get(ServiceRow, service.id)
        if row is None:
            row = ServiceRow(id=service.id)
            self._session.add(row)
        row.type, row.name = service.type, service.name
        row.description, row.enabled = service.description, service.enabled
        self._session.flush()

    def delete_service(self, service_id: str) -> None:
        self._session.execute(delete(EndpointRow).where(EndpointRow.service_id == service_id))
        self._session.execute(delete(ServiceRow).where(ServiceRow.id == service_id))

    # endpoints
    def get_endpoint(self, endpoint_id: str) -> Endpoint | None:
        row = self._session.get(EndpointRow, endpoint_id)
        return _endpoint(row) if row else None

    def list_endpoints(
        self,
        service_id: str | None = None,
        interface: str | None = None,
        region_id: str | None = None,
    ) -> list[Endpoint]:
        query = select(EndpointRow).order_by(EndpointRow.service_id, EndpointRow.interface)
        if service_id is not None:
            query = query.where(EndpointRow.service_id == service_id)
        if interface is not None:
            query = query.where(EndpointRow.interface == interface)
        if region_id is not None:
            query = query.where(EndpointRow.region_id == region_id)
        return [_endpoint(row) for row in self._session.scalars(query)]

    def put_endpoint(self, endpoint: Endpoint) -> None:
        row = self._session.get(EndpointRow, endpoint.id)
        if row is None:
            row = EndpointRow(id=endpoint.id)
            self._session.add(row)
        row.service_id, row.interface, row.url = (
            endpoint.service_id,
            endpoint.interface,
            endpoint.url,
        )
        row.region_id, row.enabled = endpoint.region_id, endpoint.enabled
        self._session.flush()

    def delete_endpoint(self, endpoint_id: str) -> None:
        self._session.execute(delete(EndpointRow).where(EndpointRow.id == endpoint_id))


def _service(row: ServiceRow) -> Service:
    return Service(row.id, row.type, row.name or "", row.description or "", row.enabled)


def _endpoint(row: EndpointRow) -> Endpoint:
    return Endpoint(row.id, row.service_id, row.interface, row.url, row.region_id, row.enabled)
