"""Units of work on Nova's tables (`common/unit_of_work.py`), locking `compute_project_lock`.

Domain modules never touch SQLAlchemy; they call the query modules of this package
(`db/flavors.py`, `db/servers.py`...) with the `ComputeUnit` a transaction gives them.
"""

from __future__ import annotations

from vistack.common.unit_of_work import Collision, UnitOfWork, UnitStore
from vistack.compute.db.tables import ComputeProjectLockRow

__all__ = ["Collision", "ComputeStore", "ComputeUnit"]


class ComputeUnit(UnitOfWork):
    """One transaction's session on Nova's tables."""

    lock_row = ComputeProjectLockRow


class ComputeStore(UnitStore[ComputeUnit]):
    """Opens units of work on the database."""

    unit_class = ComputeUnit
