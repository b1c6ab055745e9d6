"""Cinder's rules: volumes, types, snapshots, quotas, and the port Nova attaches through."""
