"""Background jobs: the procrastinate app, transactional enqueue, periodic maintenance, per-tenant fan-out."""
