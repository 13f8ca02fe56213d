"""The job queue: one procrastinate App, connected as the runtime role when a worker opens it.

Tasks register on `app` at import time; the connection pool is made only when the app is opened, from the
configured database's runtime URL, so importing a tasks module needs neither settings nor a database.
Tasks are named "domain.action" and take ids (a tenant always as the string argument `tenant_id`), never objects:
a job may run long after the row it was enqueued for has changed.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import Any

from procrastinate import App, PsycopgConnector
from psycopg_pool import AsyncConnectionPool

from podsponsor.config import get_settings
from podsponsor.db.engine import get_database
from podsponsor.db.urls import libpq_conninfo
from podsponsor.jobs import stalled

# Every module that defines tasks. The worker imports them all, so it knows every task name it may dequeue.
TASK_MODULES: tuple[str, ...] = (
    "podsponsor.jobs.maintenance",
    "podsponsor.catalog.tasks",
    "podsponsor.metrics.tasks",
    "podsponsor.measurement.tasks",
    "podsponsor.bookings.tasks",
    "podsponsor.attribution.tasks",
    "podsponsor.matching.tasks",
    "podsponsor.events.webhook_tasks",
)
# Procrastinate holds a connection only while it fetches or finishes a job; tasks use the SQLAlchemy engine.
POOL_MAX_SIZE = 10


def _runtime_pool(**kwargs: Any) -> AsyncConnectionPool[Any]:
    return AsyncConnectionPool(conninfo=libpq_conninfo(get_database().urls.app), **kwargs)


app = App(
    connector=PsycopgConnector(pool_factory=_runtime_pool, min_size=1, max_size=POOL_MAX_SIZE),
    import_paths=TASK_MODULES,
)


def registered_tasks() -> dict[str, Any]:
    """Task name → task, with every task module imported."""
    for module in TASK_MODULES:
        importlib.import_module(module)
    return dict(app.tasks)


async def run_worker(
    *,
    concurrency: int = 1,
    queues: Iterable[str] | None = None,
    wait: bool = True,
    shutdown_graceful_timeout: float = 30.0,
) -> None:
    """Open the queue's connection pool and run a worker until cancelled (or, with `wait=False`, until the queue
    is empty)."""
    async with app.open_async():
        await work(
            concurrency=concurrency, queues=queues, wait=wait, shutdown_graceful_timeout=shutdown_graceful_timeout
        )


async def work(
    *,
    concurrency: int = 1,
    queues: Iterable[str] | None = None,
    wait: bool = True,
    shutdown_graceful_timeout: float = 30.0,
) -> None:
    """Run a worker on the already opened app. Cancelling it stops it gracefully: running jobs get
    `shutdown_graceful_timeout` seconds to finish. Signals are left to the caller.

    The jobs of workers that died are put back in the queue first, so a restarted worker takes up what its
    predecessor left (when that one has been silent for the stalled timeout; later ones every minute)."""
    options: dict[str, Any] = {"queues": list(queues)} if queues else {}
    timeout = get_settings().job_stalled_timeout_seconds
    await stalled.recover_stalled_jobs(timeout)
    await app.run_worker_async(
        concurrency=concurrency,
        wait=wait,
        install_signal_handlers=False,
        shutdown_graceful_timeout=shutdown_graceful_timeout,
        update_heartbeat_interval=stalled.heartbeat_interval(timeout),
        stalled_worker_timeout=timeout,
        worker_middleware=[stalled.beat_while_running],
        **options,
    )
