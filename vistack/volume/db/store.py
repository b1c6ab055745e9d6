"""Units of work on Cinder's tables (`common/unit_of_work.py`), locking `volume_project_lock`.

Domain modules never touch SQLAlchemy; they call `db/queries.py` with the `VolumeUnit` a
transaction gives them.
"""

from __future__ import annotations

from vistack.common.unit_of_work import Collision, UnitOfWork, UnitStore
from vistack.volume.db.tables import VolumeProjectLockRow

__all__ = ["Collision", "VolumeStore", "VolumeUnit"]


class VolumeUnit(UnitOfWork):
    """One transaction's session on Cinder's tables."""

    lock_row = VolumeProjectLockRow


class VolumeStore(UnitStore[VolumeUnit]):
    """Opens units of work on the database."""

    unit_class = VolumeUnit
