"""The metering labels' and rules' queries (domain/metering.py keeps the rules of the API)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select, update

from vistack.network.db.metering_tables import MeteringLabelRow, MeteringLabelRuleRow
from vistack.network.db.repository import Unit


def rule_with_project(unit: Unit, rule_id: str) -> tuple[MeteringLabelRuleRow, str] | None:
    """The rule and its label's project, None when there is no such rule."""
    found = unit.session.execute(
        select(MeteringLabelRuleRow, MeteringLabelRow.project_id)
        .join(MeteringLabelRow, MeteringLabelRow.id == MeteringLabelRuleRow.metering_label_id)
        .where(MeteringLabelRuleRow.id == rule_id)
    ).first()
    return None if found is None else (found[0], found[1])


def labels(unit: Unit) -> Sequence[MeteringLabelRow]:
    return unit.session.scalars(select(MeteringLabelRow).order_by(MeteringLabelRow.id)).all()


def rules(unit: Unit) -> Sequence[MeteringLabelRuleRow]:
    return unit.session.scalars(select(MeteringLabelRuleRow)).all()


def rules_with_projects(unit: Unit) -> list[tuple[MeteringLabelRuleRow, str]]:
    """Every rule with its label's project, by rule id."""
    found = unit.session.execute(
        select(MeteringLabelRuleRow, MeteringLabelRow.project_id)
        .join(MeteringLabelRow, MeteringLabelRow.id == MeteringLabelRuleRow.metering_label_id)
        .order_by(MeteringLabelRuleRow.id)
    ).all()
    return [(rule, project) for rule, project in found]


def delete_rules_of(unit: Unit, label_id: str) -> None:
    unit.session.execute(
        delete(MeteringLabelRuleRow).where(MeteringLabelRuleRow.metering_label_id == label_id)
    )


def lock_label(unit: Unit, label_id: str) -> None:
    """Take the label's row lock (a generation bump), so every rule committed before is seen."""
    unit.session.execute(
        update(MeteringLabelRow)
        .where(MeteringLabelRow.id == label_id)
        .values(generation=MeteringLabelRow.generation + 1)
        .execution_options(synchronize_session=False)
    )


def sibling_rules(
    unit: Unit, label_id: str, direction: str, excluded: bool
) -> Sequence[MeteringLabelRuleRow]:
    return unit.session.scalars(
        select(MeteringLabelRuleRow).where(
            MeteringLabelRuleRow.metering_label_id == label_id,
            MeteringLabelRuleRow.direction == direction,
            MeteringLabelRuleRow.excluded.is_(excluded),
        )
    ).all()
