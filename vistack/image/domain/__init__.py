"""Image service: domain layer."""
