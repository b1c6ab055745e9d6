"""Tempest results: a subunit v2 reader, the per-test outcomes and the printed summary."""

from __future__ import annotations

import dataclasses
import re
import struct
import zlib
from collections.abc import Sequence

from harness_common import ExcludeRule, strip_attrs
from harness_tables import SERVICE_BY_PACKAGE, SERVICE_BY_SCENARIO, Service

_SUBUNIT_SIGNATURE = 0xB3
_FLAG_TEST_ID = 0x0800
_FLAG_ROUTE_CODE = 0x0400
_FLAG_TIMESTAMP = 0x0200
_FLAG_TAGS = 0x0080
_FLAG_FILE_CONTENT = 0x0040
_FLAG_MIME_TYPE = 0x0020
_STATUSES = ("", "exists", "inprogress", "success", "uxsuccess", "skip", "fail", "xfail")


@dataclasses.dataclass
class TestEvents:
    """Everything the subunit stream said about one test id."""

    status: str = ""
    tags: set[str] = dataclasses.field(default_factory=set)
    files: dict[str, bytearray] = dataclasses.field(default_factory=dict)

    def text(self, prefix: str) -> str:
        parts = [
            bytes(v).decode(errors="replace") for k, v in self.files.items() if k.startswith(prefix)
        ]
        return "\n".join(parts)


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    first = buf[pos]
    kind, value = first & 0xC0, first & 0x3F
    if kind == 0x00:
        return value, 1
    if kind == 0x40:
        return (value << 8) | buf[pos + 1], 2
    if kind == 0x80:
        return (value << 16) | int.from_bytes(buf[pos + 1 : pos + 3], "big"), 3
    return (value << 24) | int.from_bytes(buf[pos + 1 : pos + 4], "big"), 4


def _utf8(buf: bytes, pos: int) -> tuple[str, int]:
    length, used = _varint(buf, pos)
    start = pos + used
    return buf[start : start + length].decode("utf-8", errors="replace"), start + length


def parse_subunit_v2(data: bytes) -> dict[str, TestEvents]:
    """Fold a subunit v2 byte stream (as stestr stores it) into per-test events.

    Packet layout (python-subunit's v2.py): 0xB3, 16-bit flags, varint total length, then
    optional timestamp, test id, tags, mime type, file content, route code, CRC32. Bytes
    outside packets (stray stdout) are skipped; a packet with a bad CRC is dropped.
    """
    tests: dict[str, TestEvents] = {}
    pos, end = 0, len(data)
    while pos < end:
        if data[pos] != _SUBUNIT_SIGNATURE or pos + 4 > end:
            pos += 1
            continue
        flags = struct.unpack_from(">H", data, pos + 1)[0]
        length, used = _varint(data, pos + 3)
        if flags >> 12 != 2 or length < 8 or pos + length > end:
            pos += 1
            continue
        packet = data[pos : pos + length]
        if zlib.crc32(packet[:-4]) & 0xFFFFFFFF != struct.unpack(">I", packet[-4:])[0]:
            pos += 1
            continue
        body = packet[: len(packet) - 4]
        cur = 3 + used
        pos += length
        if flags & _FLAG_TIMESTAMP:
            cur += 4 + _varint(body, cur + 4)[1]
        test_id = None
        if flags & _FLAG_TEST_ID:
            test_id, cur = _utf8(body, cur)
        tags: set[str] = set()
        if flags & _FLAG_TAGS:
            count, used_tags = _varint(body, cur)
            cur += used_tags
            for _ in range(count):
                tag, cur = _utf8(body, cur)
                tags.add(tag)
        if flags & _FLAG_MIME_TYPE:
            _, cur = _utf8(body, cur)
        file_name, file_bytes = None, b""
        if flags & _FLAG_FILE_CONTENT:
            file_name, cur = _utf8(body, cur)
            size, used_size = _varint(body, cur)
            cur += used_size
            file_bytes = body[cur : cur + size]
        if test_id is None:
            continue  # stream-level packet (e.g. global attachments)
        events = tests.setdefault(test_id, TestEvents())
        events.tags |= tags
        status = _STATUSES[flags & 0x0007]
        if status and not (status == "exists" and events.status):
            events.status = status
        if file_name is not None:
            events.files.setdefault(file_name, bytearray()).extend(file_bytes)
    return tests


_CLASS_FIXTURE = re.compile(r"^(setUpClass|tearDownClass) \((?P<cls>[\w.]+)\)$")


def one_line_cause(traceback_text: str, limit: int = 300) -> str:
    """The exception line(s) at the bottom of a traceback, folded into one short line."""
    lines = [line.rstrip() for line in traceback_text.splitlines()]
    last_frame = max((i for i, line in enumerate(lines) if line.startswith("  File ")), default=-1)
    tail = lines[last_frame + 1 :] if last_frame >= 0 else lines
    # Skip the source line(s) shown under the last frame (indented), keep the exception text.
    start = next((i for i, line in enumerate(tail) if line and not line.startswith(" ")), None)
    if start is None:
        text = " | ".join(line.strip() for line in lines if line.strip())[-limit:]
    else:
        text = " | ".join(line.strip() for line in tail[start:] if line.strip())
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r"<bound method (\S+) of <[^>]*>>", r"\1()", text)  # assertRaises mismatches
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclasses.dataclass
class TestOutcome:
    test_id: str
    service: str
    status: str  # passed | failed | skipped | excluded
    reason: str = ""


def service_of(test_id: str) -> str:
    match = re.match(
        r"^(?:(?:setUpClass|tearDownClass) \()?tempest\.(api|scenario)\.(\w+)", test_id
    )
    if not match:
        return "other"
    if match.group(1) == "scenario":
        owner = SERVICE_BY_SCENARIO.get(match.group(2))
        return owner.name if owner else "scenario"
    service = SERVICE_BY_PACKAGE.get(match.group(2))
    return service.name if service else match.group(2)


def summarise(
    listed: Sequence[str], rules: Sequence[ExcludeRule], events: dict[str, TestEvents]
) -> list[TestOutcome]:
    """One outcome per listed test, plus class-fixture failures that hit no listed test."""
    outcomes: dict[str, TestOutcome] = {}
    selected: list[str] = []
    for test_id in listed:
        rule = next((r for r in rules if r.pattern.search(test_id)), None)
        if rule is not None:
            outcomes[test_id] = TestOutcome(test_id, service_of(test_id), "excluded", rule.reason)
        else:
            selected.append(test_id)

    extra: list[TestOutcome] = []
    class_level: list[tuple[str, str, TestEvents]] = []
    for test_id, ev in events.items():
        fixture = _CLASS_FIXTURE.match(test_id)
        if fixture:
            class_level.append((fixture.group(1), fixture.group("cls"), ev))
            continue
        if test_id in outcomes and outcomes[test_id].status == "excluded":
            continue
        outcomes[test_id] = _outcome_from_events(test_id, ev)

    for kind, cls, ev in class_level:
        members = [t for t in selected if strip_attrs(t).rsplit(".", 1)[0] == cls]
        fixture_outcome = _outcome_from_events(f"{kind} ({cls})", ev)
        if kind == "setUpClass" and fixture_outcome.status in ("skipped", "failed"):
            for member in members:
                if member not in outcomes:
                    outcomes[member] = TestOutcome(
                        member, service_of(member), fixture_outcome.status,
                        fixture_outcome.reason
                        if fixture_outcome.status == "skipped"
                        else f"{kind}: {fixture_outcome.reason}",
                    )  # fmt: skip
            if not members and fixture_outcome.status == "failed":
                extra.append(fixture_outcome)
        elif fixture_outcome.status == "failed":
            extra.append(fixture_outcome)  # tearDownClass errors are real failures too

    for test_id in selected:
        if test_id not in outcomes:
            outcomes[test_id] = TestOutcome(
                test_id, service_of(test_id), "failed",
                "no result recorded (worker crashed, run interrupted or test not loaded)",
            )  # fmt: skip
    return sorted(outcomes.values(), key=lambda o: o.test_id) + extra


def _outcome_from_events(test_id: str, ev: TestEvents) -> TestOutcome:
    service = service_of(test_id)
    if ev.status in ("success", "xfail"):
        return TestOutcome(test_id, service, "passed")
    if ev.status == "skip":
        reason = ev.text("reason").strip() or one_line_cause(ev.text("traceback"))
        return TestOutcome(test_id, service, "skipped", re.sub(r"\s+", " ", reason))
    if ev.status in ("fail", "uxsuccess"):
        cause = one_line_cause(ev.text("traceback")) or ev.status
        return TestOutcome(test_id, service, "failed", cause)
    return TestOutcome(test_id, service, "failed", f"incomplete (last status {ev.status!r})")


def counts_by_service(
    outcomes: Sequence[TestOutcome], services: Sequence[Service]
) -> dict[str, dict[str, int]]:
    table: dict[str, dict[str, int]] = {
        s.name: {"passed": 0, "failed": 0, "skipped": 0, "excluded": 0} for s in services
    }
    for outcome in outcomes:
        row = table.setdefault(
            outcome.service, {"passed": 0, "failed": 0, "skipped": 0, "excluded": 0}
        )
        row[outcome.status] += 1
    return table


def print_report(table: dict[str, dict[str, int]], outcomes: Sequence[TestOutcome]) -> None:
    columns = ("passed", "failed", "skipped", "excluded")
    width = max([len("service"), len("total"), *(len(name) for name in table)])
    header = f"{'service':<{width}} | " + " | ".join(f"{c:>8}" for c in columns)
    rule = "-" * len(header)
    print("\n" + rule)
    print(header)
    print(rule)
    totals = dict.fromkeys(columns, 0)
    for name, row in table.items():
        print(f"{name:<{width}} | " + " | ".join(f"{row[c]:>8}" for c in columns))
        for c in columns:
            totals[c] += row[c]
    print(rule)
    print(f"{'total':<{width}} | " + " | ".join(f"{totals[c]:>8}" for c in columns))
    print(rule)

    for status, title in (("excluded", "Excluded"), ("skipped", "Skipped")):
        reasons: dict[str, int] = {}
        for outcome in outcomes:
            if outcome.status == status:
                reasons[outcome.reason] = reasons.get(outcome.reason, 0) + 1
        if reasons:
            print(f"\n{title} ({sum(reasons.values())}), by reason:")
            for reason, count in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])):
                print(f"  {count:>4}  {reason}")

    failed = [o for o in outcomes if o.status == "failed"]
    if failed:
        print(f"\nFailed tests ({len(failed)}):")
        for outcome in failed:
            print(f"  {strip_attrs(outcome.test_id)}\n      -> {outcome.reason}")
    print(
        f"\nTempest: {totals['passed']} passed, {totals['failed']} failed, "
        f"{totals['skipped']} skipped, {totals['excluded']} excluded",
        flush=True,
    )
