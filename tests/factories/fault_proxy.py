"""A TCP front for PostgreSQL that a test can make slow, cut, silent, or lose one COMMIT's reply.

PostgreSQL may listen on a Unix socket only (the embedded server does): the proxy listens on 127.0.0.1 and forwards
each connection to the server's socket (or host and port), in a thread with its own event loop, so that synchronous
and asynchronous tests drive it alike. Faults:

- `latency(seconds)`: every chunk, either way, is delivered that much later (in order; throughput is not capped).
- `reset()`: every open connection is aborted with a TCP RST, and new ones are reset as soon as they are accepted.
- `blackhole()`: connections are accepted and kept, and nothing is forwarded either way, so clients wait until their
  own timeouts give up. What was sent meanwhile is delivered after `restore()`, as TCP delivers it once a partition
  heals (a client that gave up has closed its end by then).
- `lose_next_commit_reply(after=...)`: the next COMMIT reaches the server and commits, and its reply
  (CommandComplete "COMMIT") is dropped and that client's connection reset: the client cannot know the outcome.
- `restore()`: back to passing everything through.

To find that reply the proxy follows the protocol: the frontend's untyped start (SSLRequest and GSSENCRequest, each
answered by one byte, 'N' to go on in the clear; then the StartupMessage), then typed messages (1 byte type, int32
length that counts itself) both ways. A connection that negotiates TLS or GSS encryption is passed through unread.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.engine import make_url

from podsponsor.db.urls import libpq_conninfo

T = TypeVar("T")
CHUNK = 65536
SSL_REQUEST, GSSENC_REQUEST = 80877103, 80877104
LINGER_ZERO = struct.pack("ii", 1, 0)  # close() then sends RST instead of FIN


@dataclass
class _Arm:
    """A COMMIT reply to lose: the next one, or the next of a transaction that sent `after` in a statement."""

    after: bytes | None
    lost: threading.Event = field(default_factory=threading.Event)


@dataclass
class _Session:
    """What the proxy knows of one client's protocol conversation."""

    starting: bool = True  # the frontend is still in its untyped start
    single_byte_replies: int = 0  # SSLRequest / GSSENCRequest sent, not answered yet
    opaque: bool = False  # encrypted: not read any more
    statements: list[bytes] = field(default_factory=list)  # text sent in the current transaction
    prepared: dict[bytes, bytes] = field(default_factory=dict)  # prepared statement name → its text
    frontend: bytearray = field(default_factory=bytearray)
    backend: bytearray = field(default_factory=bytearray)

    def read_frontend(self, data: bytes) -> None:
        """Follows what the client sends: the start, and the text of each statement of the transaction."""
        if self.opaque:
            return
        buffer = self.frontend
        buffer += data
        at = 0
        while True:
            if self.starting:
                if len(buffer) - at < 8:
                    break
                length, code = struct.unpack_from("!ii", buffer, at)
                if len(buffer) - at < length:
                    break
                if code in (SSL_REQUEST, GSSENC_REQUEST):
                    self.single_byte_replies += 1
                else:  # the StartupMessage (or a CancelRequest, after which the connection closes)
                    self.starting = False
                at += length
                continue
            if len(buffer) - at < 5:
                break
            kind = bytes(buffer[at : at + 1])
            (length,) = struct.unpack_from("!i", buffer, at + 1)
            if len(buffer) - at < 1 + length:
                break
            self._statement(kind, bytes(buffer[at + 5 : at + 1 + length]))
            at += 1 + length
        del buffer[:at]

    def _statement(self, kind: bytes, body: bytes) -> None:
        if kind == b"Q":  # simple query: its text
            self.statements.append(body)
        elif kind == b"P":  # Parse: statement name, text
            name, _, rest = body.partition(b"\0")
            text = rest.partition(b"\0")[0]
            self.statements.append(text)
            if name:
                self.prepared[name] = text
        elif kind == b"B":  # Bind: portal name, statement name (a prepared statement's text is not sent again)
            statement = body.split(b"\0", 2)[1]
            if statement in self.prepared:
                self.statements.append(self.prepared[statement])

    def read_backend(self, data: bytes, arm: _Arm | None) -> tuple[bytes, bool]:
        """(what to forward to the client, whether to reset the connection after it). With `arm`, a CommandComplete
        "COMMIT" of a matching transaction and everything after it is held back, and the connection is reset."""
        if self.opaque:
            return data, False
        buffer = self.backend
        buffer += data
        at = 0
        while True:
            if self.single_byte_replies:
                if len(buffer) - at < 1:
                    break
                self.single_byte_replies -= 1
                at += 1
                if bytes(buffer[at - 1 : at]) in (b"S", b"G"):  # TLS or GSS from here: forward unread
                    self.opaque = True
                    at = len(buffer)
                    break
                continue
            if self.starting:  # nothing the server sends before the StartupMessage is read further
                at = len(buffer)
                break
            if len(buffer) - at < 5:
                break
            kind = bytes(buffer[at : at + 1])
            (length,) = struct.unpack_from("!i", buffer, at + 1)
            if len(buffer) - at < 1 + length:
                break
            body = buffer[at + 5 : at + 1 + length] if kind in (b"C", b"Z") and length <= 11 else b""
            if kind == b"C" and body == b"COMMIT\0" and arm is not None and self._matches(arm):
                forward = bytes(buffer[:at])
                buffer.clear()
                return forward, True
            if kind == b"Z" and body == b"I":  # ReadyForQuery, idle: the transaction is over
                self.statements.clear()
            at += 1 + length
        forward = bytes(buffer[:at])
        del buffer[:at]
        return forward, False

    def _matches(self, arm: _Arm) -> bool:
        return arm.after is None or any(arm.after in statement for statement in self.statements)


@dataclass(eq=False)
class _Link:
    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter | None = None
    session: _Session = field(default_factory=_Session)

    def reset(self) -> None:
        for writer in (self.client, self.upstream):
            if writer is not None:
                _reset(writer)


def _reset(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_ZERO)
    writer.transport.abort()


class FaultProxy:
    """Forwards 127.0.0.1:`port` to the PostgreSQL server of `target` (any role's URL on it)."""

    def __init__(self, target: str) -> None:
        url = make_url(target)
        socket_dir = url.query.get("host")
        self._unix = f"{socket_dir}/.s.PGSQL.{url.port or 5432}" if isinstance(socket_dir, str) else None
        self._tcp = (url.host or "127.0.0.1", url.port or 5432)
        self._links: set[_Link] = set()
        self._delay = 0.0
        self._resetting = False
        self._arm: _Arm | None = None
        self._loop = asyncio.new_event_loop()
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._server: asyncio.Server | None = None
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), name="fault-proxy", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the fault proxy did not start")
        assert self._server is not None
        self.port: int = self._server.sockets[0].getsockname()[1]

    # --- what tests call ---------------------------------------------------------------------------------------------

    def url(self, target: str) -> str:
        """`target` (a role's URL on the proxied server), through this proxy."""
        through = make_url(target).set(host="127.0.0.1", port=self.port, query={})
        return through.render_as_string(hide_password=False)

    def conninfo(self, target: str) -> str:
        return libpq_conninfo(self.url(target))

    def latency(self, seconds: float) -> None:
        def slow() -> None:
            self._delay = seconds

        self._call(slow)

    def reset(self) -> None:
        def cut() -> None:
            self._resetting = True
            for link in list(self._links):
                link.reset()

        self._call(cut)

    def blackhole(self) -> None:
        self._call(self._flowing.clear)

    def restore(self) -> None:
        def heal() -> None:
            self._resetting, self._delay = False, 0.0
            self._flowing.set()

        self._call(heal)

    def lose_next_commit_reply(self, after: bytes | None = None) -> threading.Event:
        """Arms the loss of the next COMMIT's reply, of a transaction that sent `after` in a statement when given
        (e.g. b"INSERT INTO idempotency_keys"); the returned event is set once a reply was lost."""
        arm = _Arm(after)

        def set_arm() -> None:
            self._arm = arm

        self._call(set_arm)
        return arm.lost

    def close(self) -> None:
        async def shut() -> None:
            for link in list(self._links):
                link.reset()
            if self._server is not None:
                self._server.close()

        self._submit(shut())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    # --- in the proxy's thread ---------------------------------------------------------------------------------------

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(asyncio.start_server(self._accept, "127.0.0.1", 0))
        ready.set()
        self._loop.run_forever()

    def _call(self, change: Callable[[], None]) -> None:
        """Runs `change` in the proxy's loop and returns once it took effect."""

        async def apply() -> None:
            change()

        self._submit(apply())

    def _submit(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        link = _Link(writer)
        self._links.add(link)
        try:
            await self._serve(link, reader)
        finally:
            self._links.discard(link)

    async def _serve(self, link: _Link, reader: asyncio.StreamReader) -> None:
        if not self._resetting:
            await self._flowing.wait()  # blackholed: accepted, and never answered until restored
        if self._resetting or link.client.is_closing():
            link.reset()
            return
        try:
            if self._unix:
                upstream_reader, link.upstream = await asyncio.open_unix_connection(self._unix)
            else:
                upstream_reader, link.upstream = await asyncio.open_connection(*self._tcp)
        except OSError:
            link.reset()
            return
        await asyncio.gather(
            self._pipe(link, reader, link.upstream, from_client=True),
            self._pipe(link, upstream_reader, link.client, from_client=False),
        )

    async def _pipe(
        self, link: _Link, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, from_client: bool
    ) -> None:
        """Reads one direction and hands each chunk to a writer task that delivers it at its due time, so that a
        latency delays every chunk without capping the throughput."""
        due: asyncio.Queue[tuple[float, bytes, bool] | None] = asyncio.Queue()
        delivery = asyncio.create_task(self._deliver(link, writer, due))
        try:
            while data := await reader.read(CHUNK):
                reset = False
                if from_client:
                    link.session.read_frontend(data)
                else:
                    data, reset = link.session.read_backend(data, self._arm)
                    if reset:
                        assert self._arm is not None
                        self._arm.lost.set()
                        self._arm = None
                due.put_nowait((self._loop.time() + self._delay, data, reset))
                if reset:
                    break
        except OSError:
            link.reset()
        finally:
            due.put_nowait(None)
            await delivery

    async def _deliver(
        self, link: _Link, writer: asyncio.StreamWriter, due: asyncio.Queue[tuple[float, bytes, bool] | None]
    ) -> None:
        try:
            while (item := await due.get()) is not None:
                at, data, reset = item
                if (wait := at - self._loop.time()) > 0:
                    await asyncio.sleep(wait)
                await self._flowing.wait()
                if data:
                    writer.write(data)
                    await writer.drain()
                if reset:
                    link.reset()
                    return
        except OSError:
            link.reset()
            return
        if not writer.is_closing():
            writer.close()  # the other side closed: pass the FIN on
