"""One writer thread per server process for the streams whose socket the server hands over.

Why: under gunicorn's threaded worker every stream holds a thread. If each of them woke for
every event (500 threads per event), those wake-ups would fight the API's threads for the
GIL: `bench/stream_bench.py` measured the API's p99 at 6x its value without subscribers.
So once a stream has sent its first chunk through the server (the headers, `: connected`,
a reset, the replay), its thread hands the connection's socket (`environ["gunicorn.socket"]`)
to this writer and sleeps on an `Event` until the stream ends. The writer, woken once per
batch of events, filters the batch for every stream and writes with non-blocking sends in
the framing the server started (HTTP/1.1 chunked, or plain for HTTP/1.0). It also sends the
heartbeats, notices a client that went away (readable with nothing to read), drops a stream
whose client stopped reading (`MAX_BUFFERED_BYTES` waiting: the client reconnects with
`Last-Event-ID`), and ends every stream when the bus closes (the server is stopping).

Under any other server (Django's test client, runserver, live_server) the stream's own thread
writes its events (`stream_views.EventStream`); both paths use the same subscription.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import socket
import threading
import time
from collections.abc import Callable

from .stream import StreamBus, StreamEvent, Subscription

# Per stream: 512 streams of a process hold at most 128 MiB for clients that stopped reading.
MAX_BUFFERED_BYTES = 256 * 1024
_READ = selectors.EVENT_READ
_WRITE = selectors.EVENT_WRITE


class SocketStream:
    """One handed-over stream: its socket, what it wants, and what waits to be sent."""

    def __init__(
        self,
        sock: socket.socket,
        *,
        chunked: bool,
        subscription: Subscription,
        wanted: Callable[[StreamEvent], bool],
        filter_key: tuple,
        heartbeat: float,
        heartbeat_frame: bytes,
        reset_frame: bytes,
    ) -> None:
        self.sock = sock
        self.chunked = chunked
        self.subscription = subscription
        self.wanted = wanted
        self.filter_key = filter_key  # streams with equal keys want the same events
        self.heartbeat = heartbeat
        self.heartbeat_frame = heartbeat_frame
        self.reset_frame = reset_frame
        self.position = subscription.position
        self.buffer = bytearray()
        self.sent_at = time.monotonic()
        self.mask = 0
        self.done = threading.Event()


class SocketWriter:
    """The writer thread of one bus; `adopt` hands it a stream."""

    def __init__(self, bus: StreamBus) -> None:
        self._fanout = bus.fanout
        self._lock = threading.Lock()
        self._adopting: list[SocketStream] = []
        self._stopped = False
        self._streams: set[SocketStream] = set()
        self._selector = selectors.DefaultSelector()
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        os.set_blocking(self._wake_write, False)
        self._selector.register(self._wake_read, _READ, None)
        with self._fanout.condition:
            self._position = self._fanout.total  # every event before it was distributed
            self._fanout.listeners.append(self._wake)
        self._thread = threading.Thread(
            target=self._run, name="operations-stream-writer", daemon=True
        )
        self._thread.start()

    def adopt(self, stream: SocketStream) -> None:
        with self._lock:
            if self._stopped:  # the server is stopping: the stream ends at once
                stream.done.set()
                return
            self._adopting.append(stream)
        self._wake()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):  # a full pipe already wakes the writer
            os.write(self._wake_write, b"\0")

    # --- the thread ----------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._fanout.closed:
                for key, mask in self._selector.select(self._timeout()):
                    if key.data is None:
                        with contextlib.suppress(OSError):
                            os.read(self._wake_read, 4096)
                        continue
                    stream = key.data
                    if mask & _READ:
                        self._check_gone(stream)
                    if mask & _WRITE and stream in self._streams:
                        self._flush(stream)
                self._adopt_new()
                self._distribute()
                self._heartbeats()
        finally:
            with self._lock:
                self._stopped = True
            self._adopt_new()
            for stream in list(self._streams):
                self._end(stream)
            with self._fanout.condition:
                self._fanout.listeners.remove(self._wake)

    def _timeout(self) -> float | None:
        if not self._streams:
            return None
        now = time.monotonic()
        return max(0.0, min(s.sent_at + s.heartbeat - now for s in self._streams))

    def _adopt_new(self) -> None:
        with self._lock:
            new, self._adopting = self._adopting, []
        for stream in new:
            stream.sock.setblocking(False)
            self._streams.add(stream)
            self._register(stream)
            if stream.position < self._position:  # its share of what was distributed
                with self._fanout.condition:
                    missed = self._fanout.after(stream.position)
                if missed is None:
                    self._send(stream, stream.reset_frame)
                else:
                    self._send_events(stream, missed[: self._position - stream.position])
                stream.position = self._position

    def _distribute(self) -> None:
        fanout = self._fanout
        with fanout.condition:
            start = self._position
            batch = fanout.after(start)
            if batch is None:  # this thread fell more than the backlog behind
                start = fanout.first_position()
                batch = fanout.after(start) or []
                for stream in self._streams:
                    stream.position = start
                    self._send(stream, stream.reset_frame)
            end = fanout.total
        self._position = end
        if not batch:
            return
        # Streams that want the same events get the same bytes, filtered and framed once.
        shared: dict[tuple, bytes] = {}
        for stream in list(self._streams):
            offset = max(0, stream.position - start)
            stream.position = end
            if offset or stream.subscription.replaying():
                self._send_events(stream, batch[offset:])
                continue
            data = shared.get(stream.filter_key)
            if data is None:
                data = b"".join(event.frame for event in batch if stream.wanted(event))
                shared[stream.filter_key] = data
            if data:
                self._send(stream, data)

    def _send_events(self, stream: SocketStream, events: list[StreamEvent]) -> None:
        events = stream.subscription.fresh(events)
        data = b"".join(event.frame for event in events if stream.wanted(event))
        if data:
            self._send(stream, data)

    def _heartbeats(self) -> None:
        now = time.monotonic()
        for stream in list(self._streams):
            if now - stream.sent_at >= stream.heartbeat:
                self._send(stream, stream.heartbeat_frame)

    # --- one socket ----------------------------------------------------------------------

    def _send(self, stream: SocketStream, data: bytes) -> None:
        if stream not in self._streams:
            return
        if stream.chunked:
            data = b"%x\r\n%s\r\n" % (len(data), data)
        stream.sent_at = time.monotonic()
        if stream.buffer:
            stream.buffer += data
            if len(stream.buffer) > MAX_BUFFERED_BYTES:  # the client stopped reading
                self._end(stream)
                return
            self._flush(stream)
            return
        try:  # the common case: the socket takes it all, nothing is buffered
            sent = stream.sock.send(data)
        except BlockingIOError:
            sent = 0
        except OSError:
            self._end(stream)
            return
        if sent < len(data):
            stream.buffer += data[sent:]
            self._register(stream)

    def _flush(self, stream: SocketStream) -> None:
        try:
            sent = stream.sock.send(stream.buffer)
        except BlockingIOError:
            sent = 0
        except OSError:
            self._end(stream)
            return
        del stream.buffer[:sent]
        self._register(stream)

    def _check_gone(self, stream: SocketStream) -> None:
        try:
            gone = stream.sock.recv(4096) == b""  # a client that sends more is ignored
        except BlockingIOError:
            gone = False
        except OSError:
            gone = True
        if gone:
            self._end(stream)

    def _register(self, stream: SocketStream) -> None:
        mask = _READ | (_WRITE if stream.buffer else 0)
        if mask == stream.mask:
            return
        if stream.mask:
            self._selector.modify(stream.sock, mask, stream)
        else:
            self._selector.register(stream.sock, mask, stream)
        stream.mask = mask

    def _end(self, stream: SocketStream) -> None:
        """Give the socket back to the server's thread, which ends the response."""
        if stream not in self._streams:
            return
        self._streams.discard(stream)
        if stream.mask:
            with contextlib.suppress(KeyError, ValueError, OSError):
                self._selector.unregister(stream.sock)
        with contextlib.suppress(OSError):
            stream.sock.setblocking(True)
        stream.done.set()


_writers_lock = threading.Lock()


def writer_for(bus: StreamBus) -> SocketWriter:
    """The bus's writer thread, started with the first handed-over stream."""
    with _writers_lock:
        writer = getattr(bus, "socket_writer", None)
        if writer is None:
            writer = bus.socket_writer = SocketWriter(bus)
        return writer
