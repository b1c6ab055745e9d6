"""Keystone v3: identity, resources, assignments, catalog and tokens."""
