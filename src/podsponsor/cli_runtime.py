"""Long-running CLI commands: the web server and the job worker in one event loop, stopped cleanly by signals.

A process killed by SIGTERM without a handler would leave the embedded PostgreSQL server running with no one
to stop it, so every long-running command turns SIGINT and SIGTERM into an orderly shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable, Coroutine
from types import FrameType
from typing import Any, TypeVar

import uvicorn

from podsponsor.config import Settings
from podsponsor.db import embedded, engine
from podsponsor.jobs.app import app, work

T = TypeVar("T")

SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _exit(signum: int, frame: FrameType | None) -> None:
    sys.exit(0)


def exit_on_signals() -> None:
    """Outside the event loop (start-up, shutdown), a signal exits through `finally` blocks and atexit hooks."""
    for sig in SIGNALS:
        signal.signal(sig, _exit)


class ServiceFailed(RuntimeError):
    """A service could not start or stopped by itself; the reason is in the log above."""


async def _serve(server: uvicorn.Server) -> None:
    try:
        await server.serve()
    except SystemExit as exc:
        # uvicorn exits the process when it cannot listen (port taken); here that must also stop the worker.
        raise ServiceFailed(f"the web server could not start on {server.config.host}:{server.config.port}") from exc


async def run_services(
    server: uvicorn.Server | None, worker: dict[str, Any] | None, *, on_listening: Callable[[], None] | None = None
) -> None:
    """Run the web server and/or the worker until one of them ends or SIGINT/SIGTERM arrives, then stop both:
    the server finishes its open requests, the worker its running jobs. A service's failure is raised after.

    The queue's pool is opened before either starts, so a stop never lands in the middle of opening it.
    `on_listening` is called once the web server accepts connections."""
    async with contextlib.AsyncExitStack() as resources:
        if worker is not None:
            await resources.enter_async_context(app.open_async())
        await _run_until_stopped(server, worker, on_listening)


async def _announce(server: uvicorn.Server, on_listening: Callable[[], None]) -> None:
    # uvicorn offers only a flag, no event, for "listening".
    while not server.started:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    on_listening()


async def _run_until_stopped(
    server: uvicorn.Server | None, worker: dict[str, Any] | None, on_listening: Callable[[], None] | None
) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    services: list[asyncio.Task[None]] = []
    if server is not None:
        services.append(asyncio.create_task(_serve(server), name="web"))
    if worker is not None:
        services.append(asyncio.create_task(work(**worker), name="worker"))
    signalled = asyncio.create_task(stop.wait(), name="signal")
    helpers: list[asyncio.Task[Any]] = [signalled]
    if server is not None and on_listening is not None:
        helpers.append(asyncio.create_task(_announce(server, on_listening), name="announce"))
    try:
        await asyncio.wait([*services, signalled], return_when=asyncio.FIRST_COMPLETED)
    finally:
        if server is not None:
            server.should_exit = True
        for task in services:
            if task.get_name() == "worker":
                task.cancel()
        outcomes = await asyncio.gather(*services, return_exceptions=True)
        for helper in helpers:
            helper.cancel()
        for sig in SIGNALS:
            loop.remove_signal_handler(sig)
        exit_on_signals()
    for outcome in outcomes:
        if isinstance(outcome, BaseException) and not isinstance(outcome, asyncio.CancelledError):
            raise outcome


def with_database(settings: Settings, command: Coroutine[Any, Any, T]) -> T:
    """Run `command` with the runtime role's engine configured, then release it (and the embedded server)."""

    async def run() -> T:
        engine.configure(settings)
        try:
            return await command
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    finally:
        embedded.stop()
