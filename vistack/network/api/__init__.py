"""The network HTTP layer."""
