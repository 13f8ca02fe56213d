"""Rate limits: fixed-window counters kept in Redis when REDIS_URL is set (shared by every app process), in the
process otherwise. `limiter` holds the counters, `limits` the named limits and their configuration, `middleware` the
limits on public endpoints."""
