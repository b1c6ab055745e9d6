"""Image service: api layer."""
