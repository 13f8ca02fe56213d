"""Identity and access: tenants, users, sessions, JWTs, API keys, roles, audit log."""
