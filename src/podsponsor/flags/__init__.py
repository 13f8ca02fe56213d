"""Feature flags: environment defaults, per-tenant overrides."""
