"""Agents and availability zones: filled in by the agents work."""
