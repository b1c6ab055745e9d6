"""Personality (injected files, microversions 2.1 to 2.56): files a create or a rebuild asks to
put into the guest, delivered as Nova delivers them with a config drive.

vCenter cannot write into a guest's file system (Nova's VMware driver never injected files
either), but the config drive can carry them: Nova's layout puts each file under
`openstack/content/<NNNN>` and lists it in `meta_data.json` as `{"path": ..., "content_path":
"/content/NNNN"}`, and cloud-init writes every listed file to its path at first boot. So a
server given files always gets a config drive, and the files are kept with the server (in its
`system_metadata`, base64, as user data is kept) so a drive made again (resize, unshelve,
migration) still carries them; a rebuild replaces them with its own, or with none, as Nova's
rebuild injects only the files it is given.

The limits are the project's quotas `injected_files`, `injected_file_path_bytes` and
`injected_file_content_bytes` (the decoded size), each refused with Nova's 403 message.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from typing import Any

from vistack.common.errors import BadRequest
from vistack.compute.domain.quotas import QuotaExceeded

#: The server's `system_metadata` key holding its files: [[path, base64 contents], ...].
KEY = "injected_files"

InjectedFiles = tuple[tuple[str, bytes], ...]


def _invalid(detail: str) -> BadRequest:
    return BadRequest(f"Invalid input for field/attribute personality. {detail}")


def parse_personality(value: Any) -> InjectedFiles:
    """The files of a `personality` list, decoded.

    :raises BadRequest: not a list of `{"path": str, "contents": base64 str}` objects.
    """
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _invalid(f"Value: {value!r}. It must be a list of files.")
    files = []
    for item in value:
        if not isinstance(item, Mapping) or set(item) - {"path", "contents"}:
            raise _invalid(f"Value: {item!r}. Each file is an object with path and contents.")
        path, contents = item.get("path"), item.get("contents")
        if not isinstance(path, str) or not path:
            raise _invalid(f"Value: {item!r}. 'path' must be a non-empty string.")
        if not isinstance(contents, str):
            raise _invalid(f"Value: {item!r}. 'contents' must be a base64 string.")
        try:
            data = base64.b64decode(contents.encode(), validate=True)
        except (binascii.Error, ValueError):
            raise BadRequest(f"Personality content for {path} cannot be decoded") from None
        files.append((path, data))
    return tuple(files)


def check_limits(files: InjectedFiles, limits: Mapping[str, int]) -> None:
    """The files within the project's injection quotas (-1: unlimited).

    :raises QuotaExceeded: too many files, a path or a content too long (Nova's messages).
    """
    count_limit = limits["injected_files"]
    if 0 <= count_limit < len(files):
        raise QuotaExceeded("Personality file limit exceeded")
    path_limit = limits["injected_file_path_bytes"]
    content_limit = limits["injected_file_content_bytes"]
    for path, data in files:
        if 0 <= path_limit < len(path.encode()):
            raise QuotaExceeded(f"Personality file path exceeds maximum {path_limit}")
        if 0 <= content_limit < len(data):
            raise QuotaExceeded(f"Personality file content exceeds maximum {content_limit}")


def injected_metadata(files: InjectedFiles) -> dict[str, list[list[str]]]:
    """What a server's `system_metadata` keeps of its files (JSON: base64 text; nothing when
    there are none)."""
    return {KEY: [[path, base64.b64encode(data).decode()] for path, data in files]} if files else {}


def from_metadata(system: Mapping[str, Any]) -> InjectedFiles:
    """The files kept in a server's `system_metadata` (none when it has none)."""
    kept: Sequence[Any] = system.get(KEY) or ()
    return tuple((str(path), base64.b64decode(text)) for path, text in kept)
