"""The one place the agent runs commands.

Every command is an argv list (never a shell). Mutating commands are recorded in `changes`, which is
how the agent (and its tests) prove that applying the same state twice changes nothing.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from typing import Any

from vistack.edge.errors import EdgeCommandError


class Runner:
    def __init__(self) -> None:
        self.changes: list[str] = []

    def run(
        self,
        argv: Sequence[str],
        *,
        netns: str | None = None,
        mutate: bool = True,
        check: bool = True,
        stdin: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        full = (["ip", "netns", "exec", netns] if netns else []) + list(argv)
        if mutate:
            self.changes.append(" ".join(full))
        try:
            proc = subprocess.run(
                full, input=stdin, capture_output=True, text=True, check=False, timeout=30
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            # A missing binary or a hung command is a failed step like any other.
            raise EdgeCommandError(full, -1, str(exc)) from exc
        if check and proc.returncode != 0:
            raise EdgeCommandError(full, proc.returncode, proc.stderr)
        return proc

    def ip_json(self, args: Sequence[str], *, netns: str | None = None) -> list[dict[str, Any]]:
        """Read state with `ip -j`; an empty answer (or a missing device) is an empty list."""
        argv = ["ip", "-j"] + (["-n", netns] if netns else []) + list(args)
        proc = self.run(argv, mutate=False, check=False)
        if proc.returncode != 0 or not proc.stdout.strip():
            return []
        data = json.loads(proc.stdout)
        return [d for d in data if isinstance(d, dict)] if isinstance(data, list) else []

    def ip(self, args: Sequence[str], *, netns: str | None = None) -> None:
        self.run(["ip"] + (["-n", netns] if netns else []) + list(args))

    def delete_link(self, name: str, *, netns: str | None = None) -> None:
        """`ip link delete`, where a device already gone counts as deleted: the kernel removes
        a veth's peer, and the links of a deleted namespace, asynchronously, so a link seen a
        moment ago may vanish before the delete runs."""
        argv = ["ip"] + (["-n", netns] if netns else []) + ["link", "delete", name]
        proc = self.run(argv, check=False)
        if proc.returncode != 0 and "Cannot find device" not in proc.stderr:
            raise EdgeCommandError(argv, proc.returncode, proc.stderr)
