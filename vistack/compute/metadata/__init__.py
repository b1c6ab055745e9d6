"""Nova's metadata API (`/metadata` on this cloud): what 169.254.169.254 answers an instance.

The edge node's relay (`vistack.edge.metadata`) resolves the asking address to an instance and
signs its id; this app checks that signature and renders the instance's metadata
(`vistack.compute.domain.instance_metadata`).
"""

from vistack.compute.metadata.app import build_metadata_app

__all__ = ["build_metadata_app"]
