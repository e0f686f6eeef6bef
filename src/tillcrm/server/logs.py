"""The CRM's log: JSON lines on stderr, one per request, for a log shipper or `jq`.

`tillcrm crm serve` starts it (`start_crm_logging`); the app only carries `RequestLog`, so
tests and the demo's embedded CRM log where their process does. Each request gets an id,
the caller's `X-Request-Id` when it sends a sane one, else a new one, echoed in the answer, so
a till's report and the CRM's line meet. A line says the method, the path (never the query
string), the status, the duration, the till and, for a refusal or an error, why. Every line
goes through the `RedactingFilter`. stdlib logging and a small formatter: no dependency for
what fits in a page.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import IO, Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tillcrm.domain.redaction import RedactingFilter

__all__ = [
    "REQUEST_ID_HEADER",
    "JsonLines",
    "RequestLog",
    "note_error",
    "note_till",
    "start_crm_logging",
]

REQUEST_ID_HEADER = "X-Request-Id"

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
"""An incoming request id the CRM keeps: short, and nothing that could forge a log line."""

_FIELDS = "fields"
"""The `extra` key of a record whose dict goes into its JSON line as top-level keys."""

_log = logging.getLogger("tillcrm.server.requests")


class JsonLines(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, a record's
    `fields`, and a traceback as `error` when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(getattr(record, _FIELDS, {}))
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["error"] = record.exc_text
        return json.dumps(line, default=str)


def start_crm_logging(stream: IO[str] = sys.stderr, level: int = logging.INFO) -> None:
    """Send every log line of this process (uvicorn's included) to `stream` as JSON lines."""
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonLines())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def _state(scope: Scope) -> dict[str, Any]:
    """The request's state (what `request.state` holds), shared by the routes and the log."""
    state: dict[str, Any] = scope.setdefault("state", {})
    return state


def note_till(scope: Scope, till_id: str) -> None:
    """Record which till made this request, for its log line."""
    _state(scope)["log_till_id"] = till_id


def note_error(scope: Scope, reason: str) -> None:
    """Record why this request was refused, for its log line."""
    _state(scope)["log_error"] = reason


class RequestLog:
    """ASGI middleware: gives each HTTP request its id and logs one line when it ends."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the request, its answer carrying `X-Request-Id`, then log it."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get(REQUEST_ID_HEADER, "")
        request_id = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        _state(scope)  # made before the app runs, so every copy of the scope shares it
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            self._log(scope, request_id, 500, started, failed=True)
            raise
        self._log(scope, request_id, status, started, failed=False)

    @staticmethod
    def _log(scope: Scope, request_id: str, status: int, started: float, *, failed: bool) -> None:
        state = _state(scope)
        fields: dict[str, Any] = {
            "request_id": request_id,
            "method": scope["method"],
            "path": scope["path"],
            "status": status,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            "till_id": state.get("log_till_id"),
        }
        if reason := state.get("log_error"):
            fields["reason"] = reason
        message = f"{scope['method']} {scope['path']} {status}"
        if failed:
            _log.exception(message, extra={_FIELDS: fields})
        elif status >= 500:
            _log.error(message, extra={_FIELDS: fields})
        elif status >= 400:
            _log.warning(message, extra={_FIELDS: fields})
        else:
            _log.info(message, extra={_FIELDS: fields})
