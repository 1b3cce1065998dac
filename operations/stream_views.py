"""`GET /v1/operations/stream`: the hub's changes as Server-Sent Events (contract §7).

Everything that can fail (authentication, scope, the query) fails before the stream starts,
as the usual JSON. Then the response is `text/event-stream`: a `: connected` comment, an
`event: reset` when `Last-Event-ID` cannot be resumed, the events after it, then every new
event for this principal (its tenant; an operator's `?tenant_id=`; `include`), with a
`: heartbeat` comment whenever nothing was sent for `OPERATIONS_STREAM_HEARTBEAT_SECONDS`.

The stream ends when the client goes or the server stops. Under gunicorn (`manage.py serve`)
the stream's thread hands its socket to the process's one writer thread after the first
chunk and sleeps until the stream ends (`stream_sockets.py` says why); under other servers
it writes its events itself. Django's test client hands the iterator to the test, which
reads the events it expects and closes it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.request import Request

from agent33_core.fields import StrictCharField
from agent33_core.metrics import STREAM_SUBSCRIBERS
from agent33_core.views import KitAPIView

from .serializers import HubQuery
from .stream import (
    EVENTS,
    RESET,
    StreamClosed,
    StreamEvent,
    Subscription,
    get_stream_bus,
    heartbeat_seconds,
)
from .stream_sockets import SocketStream, writer_for
from .views import EmptyQueryValueMixin

CONNECTED = b": connected\n\n"
HEARTBEAT = b": heartbeat\n\n"
RESET_FRAME = (
    b'event: %s\ndata: {"reason": "Last-Event-ID is unknown or older than the ' % (RESET.encode())
    + b'backlog; reload the hub and follow on from here."}\n\n'
)


class StreamQuery(HubQuery):
    """The hub's `include` and `tenant_id`, validated as the hub does, and the resume id."""

    since = None
    status = None
    limit = None
    last_event_id = StrictCharField(
        required=False,
        help_text="Resume after this event id (the `Last-Event-ID` header wins when both are "
        "sent). An unknown id, or one older than the backlog, starts with `event: reset`.",
    )


class StreamEventOutput(serializers.Serializer):
    """One Server-Sent Event of the stream (the schema of each event, OpenAPI 3.0 style)."""

    id = serializers.CharField(
        required=False,
        help_text="`<ms>-<n>`; send it back as `Last-Event-ID` to resume. `reset` has none.",
    )
    event = serializers.CharField(
        help_text="`process.created`, `process.updated`, `control.applied` or `reset`."
    )
    data = serializers.CharField(
        help_text="JSON text: the process entry (as an item of the hub's `processes`), with "
        "`control` for `control.applied`; `{reason}` for `reset`."
    )


class JSONErrorsNegotiation(BaseContentNegotiation):
    """Whatever `Accept` says (`text/event-stream`), errors before the stream are JSON."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class EventStream:
    """The response's iterator: SSE frames for one subscriber. `close()` (Django calls it
    when the response ends, however it ends) leaves the bus and the subscriber gauge."""

    def __init__(
        self,
        subscription: Subscription,
        *,
        tenant_id: str | None,
        include: frozenset[str] | None,
        heartbeat: float,
        server_socket: Any = None,
        chunked: bool = True,
        head_only: bool = False,
    ) -> None:
        self._subscription = subscription
        self._socket = server_socket  # gunicorn's: the process's writer thread takes it over
        self._chunked = chunked
        self._head_only = head_only  # HEAD: a server sends no body, so the stream ends at once
        self._tenant_id = tenant_id
        self._include = include
        self._heartbeat = max(heartbeat, 0.001)
        self._closed = False
        STREAM_SUBSCRIBERS.inc()
        self._frames = self._generate()

    def __iter__(self) -> EventStream:
        return self

    def __next__(self) -> bytes:
        return next(self._frames)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._frames.close()
        self._subscription.close()
        STREAM_SUBSCRIBERS.dec()

    def _wanted(self, event: StreamEvent) -> bool:
        return (self._tenant_id is None or event.tenant_id == self._tenant_id) and (
            self._include is None or event.include_key in self._include
        )

    def _generate(self) -> Iterator[bytes]:
        subscription = self._subscription
        first = CONNECTED + (RESET_FRAME if subscription.reset else b"")
        yield first + b"".join(e.frame for e in subscription.replay if self._wanted(e))
        subscription.replay = []
        if self._head_only:
            return
        if self._socket is not None:  # sent by now: the socket is between two chunks
            stream = SocketStream(
                self._socket,
                chunked=self._chunked,
                subscription=subscription,
                wanted=self._wanted,
                filter_key=(self._tenant_id, self._include),
                heartbeat=self._heartbeat,
                heartbeat_frame=HEARTBEAT,
                reset_frame=RESET_FRAME,
            )
            writer_for(subscription.bus).adopt(stream)
            stream.done.wait()
            return
        sent_at = time.monotonic()
        while True:
            wait = self._heartbeat - (time.monotonic() - sent_at)
            try:
                events = subscription.wait(max(wait, 0.0))
            except StreamClosed:
                return
            chunk = (
                RESET_FRAME
                if events is None
                else b"".join(e.frame for e in events if self._wanted(e))
            )
            if not chunk and time.monotonic() - sent_at >= self._heartbeat:
                chunk = HEARTBEAT
            if chunk:
                sent_at = time.monotonic()
                yield chunk


class OperationsStreamView(EmptyQueryValueMixin, KitAPIView):
    """The hub's changes, live: process.created, process.updated, control.applied."""

    scope_map = {"get": "workflows:read"}
    content_negotiation_class = JSONErrorsNegotiation

    @extend_schema(
        operation_id="operations_stream",
        tags=["operations"],
        parameters=[
            StreamQuery,
            OpenApiParameter(
                "Last-Event-ID",
                str,
                OpenApiParameter.HEADER,
                required=False,
                description="Resume after this event id (what EventSource sends on reconnect).",
            ),
        ],
        responses={
            (200, "text/event-stream"): OpenApiResponse(
                response=StreamEventOutput,
                description=(
                    "Server-Sent Events, each with an `id:`. `event:` is "
                    f"{', '.join(f'`{name}`' for name in EVENTS)}: `data:` is the process "
                    "entry exactly as an item of the hub's `processes` (`{id, type, status, "
                    "started_at, name, tenant_id, metadata}`); for `control.applied` it also "
                    "has `control`, the applied control record `{action, reason, actor, at, "
                    "from_status, to_status}` (as in the detail's `control_history`). "
                    "`process.updated` is sent when a status changed. `event: reset` (no "
                    "id) when `Last-Event-ID` is unknown or older than the backlog "
                    "(`OPERATIONS_STREAM_BACKLOG` events): reload the hub. A `: heartbeat` "
                    "comment after `OPERATIONS_STREAM_HEARTBEAT_SECONDS` (15) of silence."
                ),
            ),
            503: OpenApiResponse(
                description="`stream_full`: this server process already holds "
                "`OPERATIONS_STREAM_MAX_SUBSCRIBERS` streams."
            ),
        },
        description="A tenant principal receives its own tenant's events only; an operator "
        "every tenant's, or one with `tenant_id`. `include` narrows to source types as in "
        "the hub. Errors (400, 401, 403, 503) come as JSON before the stream starts.",
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        query = self.query(StreamQuery)
        include = query["include"]
        last_event_id = request.META.get("HTTP_LAST_EVENT_ID") or query.get("last_event_id")
        subscription = get_stream_bus().open(last_event_id)
        meta = request.META
        events = EventStream(
            subscription,
            tenant_id=self.reading_tenant(query),
            include=None if include is None else frozenset(include),
            heartbeat=heartbeat_seconds(),
            # Under gunicorn, a GET's socket goes to the writer thread (`stream_sockets`).
            server_socket=meta.get("gunicorn.socket") if request.method == "GET" else None,
            chunked=meta.get("SERVER_PROTOCOL", "HTTP/1.1") not in ("HTTP/1.0", "HTTP/0.9"),
            head_only=request.method == "HEAD",
        )
        response = StreamingHttpResponse(events, content_type="text/event-stream")
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"  # a proxy in front must not buffer the stream
        return response
