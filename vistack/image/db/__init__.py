"""Image service: db layer."""
