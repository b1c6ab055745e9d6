"""Identity rules: users, projects, roles, assignments, catalog and tokens, free of HTTP and SQL."""
