"""A fresh embedded vCenter for one contract test module or one bench run.

Built on `vistack.vsphere.embedded` (the launcher vistack itself runs). `VISTACK_VCSIM_BINARY`
names a prebuilt launcher to use instead of `tools/vcsim/build.sh`'s, to try a patched one.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from vistack.config import EmbeddedVCenterSettings
from vistack.vsphere.embedded import EmbeddedVCenter
from vistack.vsphere.endpoint import VCenterEndpoint


@contextmanager
def embedded_vcenter(
    settings: EmbeddedVCenterSettings | None = None,
) -> Iterator[VCenterEndpoint]:
    """Start a simulator in a throw-away data dir; stopped (temp dirs removed) on exit."""
    prebuilt = os.environ.get("VISTACK_VCSIM_BINARY")
    with tempfile.TemporaryDirectory(prefix="vistack-contract-") as data_dir:
        vcenter = EmbeddedVCenter(
            settings or EmbeddedVCenterSettings(),
            data_dir=Path(data_dir),
            binary=Path(prebuilt) if prebuilt else None,
        )
        try:
            yield vcenter.start()
        finally:
            vcenter.stop()
