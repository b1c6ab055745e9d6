"""Identity persistence: SQLAlchemy tables and the repository that implements the domain's store."""
