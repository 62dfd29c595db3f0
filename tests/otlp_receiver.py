"""An OTLP/HTTP trace receiver on loopback that decodes what it gets (opentelemetry-proto).

It stands in for Jaeger's OTLP port (no Jaeger binary here): every POST to ``/v1/traces``
is parsed as an ``ExportTraceServiceRequest``; ``spans()`` lists the spans received, each
with its resource's attributes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span


def value_of(value: AnyValue) -> Any:
    """A protobuf attribute value as plain Python."""
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [value_of(item) for item in value.array_value.values]
    return getattr(value, kind) if kind else None


def attributes_of(items: Any) -> dict[str, Any]:
    pairs: list[KeyValue] = list(items)
    return {pair.key: value_of(pair.value) for pair in pairs}


@dataclass(frozen=True)
class ReceivedSpan:
    """One decoded span and the attributes of the resource (process) that sent it."""

    span: Span
    resource: dict[str, Any]

    @property
    def name(self) -> str:
        return self.span.name

    @property
    def attributes(self) -> dict[str, Any]:
        return attributes_of(self.span.attributes)


class OtlpReceiver:
    """Keeps every OTLP/HTTP export it receives (path, content type, body)."""

    def __init__(self, port: int) -> None:
        self.endpoint = f"http://127.0.0.1:{port}"
        self.requests: list[tuple[str, str, bytes]] = []
        self._lock = threading.Lock()

    def keep(self, path: str, content_type: str, body: bytes) -> None:
        with self._lock:
            self.requests.append((path, content_type, body))

    def spans(self) -> list[ReceivedSpan]:
        found: list[ReceivedSpan] = []
        with self._lock:
            bodies = [body for _, _, body in self.requests]
        for body in bodies:
            export = ExportTraceServiceRequest()
            export.ParseFromString(body)
            for resource_spans in export.resource_spans:
                resource = attributes_of(resource_spans.resource.attributes)
                for scope in resource_spans.scope_spans:
                    found += [ReceivedSpan(s, resource) for s in scope.spans]
        return found


@contextmanager
def otlp_receiver() -> Iterator[OtlpReceiver]:
    """A receiver listening on a free loopback port for as long as the block runs."""
    holder: dict[str, OtlpReceiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            holder["receiver"].keep(self.path, self.headers["Content-Type"], body)
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    holder["receiver"] = OtlpReceiver(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield holder["receiver"]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
