"""A loopback TCP proxy between the till's `CrmClient` and a real CRM, that breaks requests
the way networks do: the answer lost after the CRM committed, an answer slower than the read
timeout, a reset connection, a gateway's 503 with `Retry-After`.

It speaks bytes, not HTTP, except for one thing: a request starts with the first bytes the
client sends after the previous answer began (HTTP/1.1 on one connection is strictly request,
then response), and its first bytes name its method and path. A fault is armed for the next
requests whose start matches a prefix (`b"POST /v1/sync/push"`); every other request passes.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from enum import Enum

__all__ = ["Fault", "TcpProxy", "tcp_proxy"]


class Fault(Enum):
    """What the proxy does to one request."""

    DROP_ANSWER = "drop_answer"
    """Forward the request; once the CRM starts answering (it has committed), close the
    client's connection without passing a byte of the answer on."""
    DELAY_ANSWER = "delay_answer"
    """Forward the request; hold the CRM's answer for `TcpProxy.delay` seconds, longer than
    the client's read timeout."""
    RESET_BEFORE = "reset_before"
    """Reset the client's connection (RST) before the request reaches the CRM."""
    RESET_AFTER = "reset_after"
    """Forward the request; once the CRM answers, reset the client's connection (RST)."""
    UNAVAILABLE = "unavailable"
    """Answer 503 with `Retry-After: TcpProxy.retry_after`, as a gateway in front of a CRM
    that is down; the request never reaches the CRM."""


@dataclass
class TcpProxy:
    """The proxy's address and its armed faults."""

    upstream: tuple[str, int]
    port: int = 0
    delay: float = 2.0
    retry_after: int = 1
    faults: deque[tuple[bytes, Fault]] = field(default_factory=deque)
    applied: list[Fault] = field(default_factory=list)
    """Faults that happened, in order: each armed fault is used exactly once."""
    answered: list[Fault] = field(default_factory=list)
    """Faults whose request the CRM answered (so committed) before the proxy broke it."""
    connections: set[_Connection] = field(default_factory=set)
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    """Set whenever a connection has ended, for `tcp_proxy` to wait for them all."""
    down: bool = False
    """Cut (`cut`): every connection is reset at once, as when the CRM cannot be reached."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def arm(self, prefix: bytes, *faults: Fault) -> None:
        """Break the next requests starting with `prefix`, one fault each, in order."""
        self.faults.extend((prefix, fault) for fault in faults)

    def cut(self) -> None:
        """The CRM goes away: open connections drop, new ones are reset until `restore`."""
        self.down = True
        for connection in list(self.connections):
            connection.abort()

    def restore(self) -> None:
        """The CRM is back: connections pass again."""
        self.down = False

    def take_fault(self, start: bytes) -> Fault | None:
        """The fault armed for a request starting with `start`, used up; None to pass it."""
        if self.faults and start.startswith(self.faults[0][0]):
            fault = self.faults.popleft()[1]
            self.applied.append(fault)
            return fault
        return None

    async def serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        """Relay one client connection to the CRM, breaking the requests armed to fail."""
        if self.down:
            _reset(client_w)
            return
        try:
            upstream_r, upstream_w = await asyncio.open_connection(*self.upstream)
        except OSError:
            _reset(client_w)
            return
        connection = _Connection(self, client_r, client_w, upstream_r, upstream_w)
        self.connections.add(connection)
        try:
            await connection.run()
        finally:
            self.connections.discard(connection)
            self.closed.set()


@dataclass(eq=False)
class _Connection:
    """One client connection and its connection to the CRM."""

    proxy: TcpProxy
    client_r: asyncio.StreamReader
    client_w: asyncio.StreamWriter
    upstream_r: asyncio.StreamReader
    upstream_w: asyncio.StreamWriter
    fault: Fault | None = None
    answering: bool = True
    """The previous request's answer has begun: the client's next bytes start a request."""

    async def run(self) -> None:
        tasks = [
            asyncio.create_task(self._requests()),
            asyncio.create_task(self._answers()),
        ]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)  # a peer's reset is expected
            self.upstream_w.close()
            self.client_w.close()

    def abort(self) -> None:
        """Drop both sides at once; the relays see their streams end and `run` returns."""
        self.client_w.transport.abort()
        self.upstream_w.transport.abort()

    async def _requests(self) -> None:
        while chunk := await self.client_r.read(65536):
            if self.answering:
                self.answering = False
                self.fault = self.proxy.take_fault(chunk)
                if self.fault is Fault.RESET_BEFORE:
                    _reset(self.client_w)
                    return
                if self.fault is Fault.UNAVAILABLE:
                    body = b'{"detail": "the CRM is down for maintenance", "code": "unavailable"}'
                    self.client_w.write(
                        b"HTTP/1.1 503 Service Unavailable\r\n"
                        b"Content-Type: application/json\r\n"
                        + f"Retry-After: {self.proxy.retry_after}\r\n".encode()
                        + f"Content-Length: {len(body)}\r\n".encode()
                        + b"Connection: close\r\n\r\n"
                        + body
                    )
                    await self.client_w.drain()
                    return
            self.upstream_w.write(chunk)
            await self.upstream_w.drain()

    async def _answers(self) -> None:
        while chunk := await self.upstream_r.read(65536):
            if not self.answering:
                self.answering = True
                if self.fault is not None:
                    self.proxy.answered.append(self.fault)
                if self.fault is Fault.DROP_ANSWER:
                    return  # run() closes both sides: the client sees the connection end
                if self.fault is Fault.RESET_AFTER:
                    _reset(self.client_w)
                    return
                if self.fault is Fault.DELAY_ANSWER:
                    await asyncio.sleep(self.proxy.delay)
            self.client_w.write(chunk)
            with contextlib.suppress(ConnectionError):
                await self.client_w.drain()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with SO_LINGER 0: the peer gets RST, not FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


@asynccontextmanager
async def tcp_proxy(upstream_url: str) -> AsyncIterator[TcpProxy]:
    """A proxy on a free loopback port in front of `upstream_url` (http://host:port), served
    by the running event loop until the block ends."""
    host, port = upstream_url.removeprefix("http://").rsplit(":", 1)
    proxy = TcpProxy(upstream=(host, int(port)))
    server = await asyncio.start_server(proxy.serve, "127.0.0.1", 0)
    proxy.port = server.sockets[0].getsockname()[1]
    try:
        yield proxy
    finally:
        server.close()
        for connection in list(proxy.connections):
            connection.abort()
        while proxy.connections:
            proxy.closed.clear()
            await proxy.closed.wait()
