"""Errors of the edge data plane."""

from __future__ import annotations


class EdgeError(Exception):
    """A desired state the agent refuses, or a command that failed while applying it."""


class EdgeCommandError(EdgeError):
    """A command exited non-zero; carries the argv and stderr so the caller can log the cause."""

    def __init__(self, argv: list[str], returncode: int, stderr: str) -> None:
        super().__init__(f"{' '.join(argv)} exited {returncode}: {stderr.strip()}")
        self.argv = argv
        self.returncode = returncode
        self.stderr = stderr
