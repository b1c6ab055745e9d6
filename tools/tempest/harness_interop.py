"""How a run fares against an OpenInfra interop guideline ("OpenStack Powered" test lists).

`--interop FILE` reads a guideline as a tab-separated list, one test a line:
`capability, project, tempest test id, idempotent id, flagged (yes/no), ...`; lines starting
with `#` are comments. Each test counts as passed, failed, skipped, excluded or not run (not in
this run's selection), per project, with flagged tests (not required while flagged) apart.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from harness_common import HarnessError, strip_attrs
from harness_results import TestOutcome

STATUSES = ("passed", "failed", "skipped", "excluded", "not run")


@dataclasses.dataclass(frozen=True)
class InteropTest:
    capability: str
    project: str
    test_id: str
    flagged: bool


def load_guideline(path: Path) -> list[InteropTest]:
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise HarnessError(f"cannot read the interop list {path}: {exc}") from exc
    tests: list[InteropTest] = []
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) < 5:
            raise HarnessError(f"{path}:{number}: expected 5 or more tab-separated fields")
        tests.append(InteropTest(fields[0], fields[1], fields[2], fields[4].strip() == "yes"))
    return tests


def interop_table(
    guideline: Sequence[InteropTest], outcomes: Sequence[TestOutcome]
) -> dict[str, dict[str, object]]:
    """Per project: counts of required and of flagged tests by status, and the required tests
    that did not pass with their status and reason."""
    by_id = {strip_attrs(o.test_id): o for o in outcomes}
    table: dict[str, dict[str, object]] = {}
    for test in guideline:
        row = table.setdefault(
            test.project,
            {"required": dict.fromkeys(STATUSES, 0), "flagged": dict.fromkeys(STATUSES, 0),
             "not_passed": {}},
        )  # fmt: skip
        outcome = by_id.get(test.test_id)
        status = outcome.status if outcome is not None else "not run"
        counts = row["flagged" if test.flagged else "required"]
        assert isinstance(counts, dict)
        counts[status] += 1
        if status != "passed" and not test.flagged:
            missing = row["not_passed"]
            assert isinstance(missing, dict)
            missing[test.test_id] = f"{status}: {outcome.reason}" if outcome else status
    return table


def print_interop(path: Path, table: dict[str, dict[str, object]]) -> None:
    print(f"\nInterop guideline {path.name} (required tests; flagged ones apart):")
    for project, row in sorted(table.items()):
        required, flagged = row["required"], row["flagged"]
        assert isinstance(required, dict) and isinstance(flagged, dict)
        total = sum(required.values())
        ran = total - required["not run"]
        rate = f"{100 * required['passed'] / total:.1f} %" if total else "-"
        counts = ", ".join(f"{required[s]} {s}" for s in STATUSES if required[s])
        print(f"  {project:<10} {required['passed']:>3}/{total:<3} passed ({rate}); {counts}"
              f"; flagged: {flagged['passed']}/{sum(flagged.values())} passed")  # fmt: skip
        if ran:
            missing = row["not_passed"]
            assert isinstance(missing, dict)
            for test_id, why in sorted(missing.items()):
                if not why.startswith("not run"):
                    print(f"      {test_id}\n          -> {why[:200]}")
