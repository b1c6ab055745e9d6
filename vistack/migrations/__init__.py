"""Alembic migrations for every vistack table, run by `vistack up` and `vistack db upgrade`."""
