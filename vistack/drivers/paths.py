"""Datastore paths (`[datastore] folder/file.vmdk`), the one way disks and files are named.

vSphere names every file this way; keeping the parsing here means neither the services nor the
fake ever split strings on brackets themselves.
"""

from __future__ import annotations

#: The file in a VM's folder its serial port writes the guest's console to (`console_log`).
SERIAL_LOG_NAME = "serial.log"


def datastore_path(datastore: str, path: str) -> str:
    """`[datastore] path`."""
    return f"[{datastore}] {path.lstrip('/')}"


def split_datastore_path(full: str) -> tuple[str, str]:
    """`("datastore", "folder/file")` from `[datastore] folder/file`.

    :raises ValueError: `full` is not a datastore path.
    """
    if not full.startswith("[") or "]" not in full:
        raise ValueError(f"not a datastore path: {full!r}")
    datastore, _, rest = full[1:].partition("]")
    return datastore, rest.strip()
