"""RBAC policies and subnet pools: filled in by the sharing work."""
