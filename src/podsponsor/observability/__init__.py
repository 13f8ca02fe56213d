"""Health, readiness, Prometheus metrics and structured logs."""
