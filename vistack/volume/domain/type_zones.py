"""`RESKEY:availability_zones` (Cinder 3.52's reserved extra spec): a volume type may name the
availability zones its volumes can be made in (comma-separated). This cloud has one zone, so
a type whose list leaves it out cannot make volumes here; a create with it is refused (400)
rather than made in a zone the type excludes."""

from __future__ import annotations

from collections.abc import Callable

from vistack.common.errors import BadRequest
from vistack.volume.db import queries
from vistack.volume.db.store import VolumeUnit
from vistack.volume.db.tables import VolumeTypeRow

ZONES_SPEC = "RESKEY:availability_zones"


def zone_check(zone: str) -> Callable[[VolumeUnit, VolumeTypeRow], None]:
    """A `VolumeService.type_checks` entry refusing types whose zones leave out `zone`."""

    def check(unit: VolumeUnit, type_row: VolumeTypeRow) -> None:
        listed = queries.extra_specs(unit, type_row.id).get(ZONES_SPEC)
        if listed is None:
            return
        zones = [z.strip() for z in listed.split(",") if z.strip()]
        if zone not in zones:
            raise BadRequest(
                f"Invalid input received: volume type {type_row.name} allows availability "
                f"zones {', '.join(zones) or '(none)'} ({ZONES_SPEC}); this cloud's zone is "
                f"{zone}."
            )

    return check
