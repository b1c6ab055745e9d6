"""Cinder's extra-spec operators: how a volume type's requirement ('<is> True', '<in> x',
'>= 10', 's== abc', '<or> a <or> b', or a plain value) is compared with what a pool reports,
so the scheduler can tell which pools satisfy a type (Cinder's CapabilitiesFilter)."""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

_TRUE = ("1", "t", "true", "on", "y", "yes")


def _number(compare: Callable[[float, float], bool]) -> Callable[[str, str], bool]:
    return lambda value, wanted: compare(float(value), float(wanted))


_OPS: dict[str, Callable[[str, str], bool]] = {
    "=": _number(operator.ge),  # Cinder's '=' means "at least"
    "==": _number(operator.eq),
    "!=": _number(operator.ne),
    ">=": _number(operator.ge),
    "<=": _number(operator.le),
    ">": _number(operator.gt),
    "<": _number(operator.lt),
    "s==": operator.eq,
    "s!=": operator.ne,
    "s<": operator.lt,
    "s<=": operator.le,
    "s>": operator.gt,
    "s>=": operator.ge,
    "<in>": lambda value, wanted: wanted in value,
    "<is>": lambda value, wanted: (value.lower() in _TRUE) == (wanted.lower() in _TRUE),
}


def _text(value: Any) -> str:
    """A reported capability as the text a spec compares it with (booleans as 'True')."""
    return str(value)


def matches(value: Any, requirement: str) -> bool:
    """Whether a pool's reported `value` satisfies a type's `requirement`."""
    words = requirement.split()
    if not words or (words[0] != "<or>" and words[0] not in _OPS):
        return _text(value) == requirement
    if value is None:
        return False
    op, args = words[0], words[1:]
    if op == "<or>":
        return _text(value) in [w for w in args if w != "<or>"]
    if not args:
        return False
    try:
        return _OPS[op](_text(value), args[0])
    except ValueError:  # a number was wanted and one side is not
        return False


def capability_specs(specs: Mapping[str, str]) -> dict[str, str]:
    """The specs the scheduler checks against pools: unscoped keys and `capabilities:` ones
    (`capabilities:` stripped); other scopes (vmware:, RESKEY:, ...) are for the driver."""
    out: dict[str, str] = {}
    for key, requirement in specs.items():
        scope, _, rest = key.partition(":")
        if not rest:
            out[key] = requirement
        elif scope == "capabilities":
            out[rest] = requirement
    return out


def unmet(specs: Mapping[str, str], capabilities: Mapping[str, Any]) -> dict[str, str]:
    """The type's capability specs that these pool `capabilities` report and do not satisfy
    (a key no pool reports is not the scheduler's to judge here)."""
    return {
        key: requirement
        for key, requirement in capability_specs(specs).items()
        if key in capabilities and not matches(capabilities[key], requirement)
    }
