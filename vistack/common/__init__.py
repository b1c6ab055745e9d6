"""Pieces every service shares: context, errors, policy, database, cache, work queue, middleware."""
