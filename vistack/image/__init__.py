"""Glance v2: images on vSphere datastores."""
