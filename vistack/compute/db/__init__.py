"""Nova tables and queries."""
