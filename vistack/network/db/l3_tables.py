"""Routers and floating IPs (edge backend): filled in by the L3 work."""
