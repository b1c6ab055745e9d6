"""The network tables and repository."""
