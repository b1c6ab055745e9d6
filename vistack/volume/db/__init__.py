"""Cinder's tables and the queries on them."""
