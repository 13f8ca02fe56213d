"""Database access: engine, tenant-scoped transactions, embedded PostgreSQL, roles."""
