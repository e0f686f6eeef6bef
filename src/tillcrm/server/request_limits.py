"""What one request may cost the CRM before any route sees it: its body's size and its JSON.

A till token is a credential a stolen or cloned till holds too, so a request is hostile until
it is read: a body is refused as soon as it passes `MAX_BODY_BYTES` (however it is framed),
and its JSON is refused when nested deeper than `MAX_JSON_DEPTH` or not strictly JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tillcrm.api import BODY_LIMIT_HEADER, ErrorBody

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_JSON_DEPTH",
    "BodyLimit",
    "BodyTooLarge",
    "JsonLimitsRoute",
    "decode_json",
    "too_large",
]

MAX_BODY_BYTES = 4 * 1024 * 1024
"""The largest body the CRM reads (a push of 1,000 ops fits easily)."""

MAX_JSON_DEPTH = 32
"""The deepest nesting of objects and arrays a body may have; the API's own is under 8."""


class BodyTooLarge(HTTPException):
    """The body passed `MAX_BODY_BYTES` while it was read. An `HTTPException`, so FastAPI
    lets it through its body reading instead of answering 400."""

    def __init__(self) -> None:
        super().__init__(status_code=413, detail="request body too large")


def too_large() -> JSONResponse:
    """The 413 answer, whether the size was declared or found while reading. It closes the
    connection: otherwise uvicorn would read and drop the rest of the body to keep it."""
    body = ErrorBody(detail="request body too large", code="too_large")
    return JSONResponse(body.model_dump(), status_code=413, headers={"Connection": "close"})


class BodyLimit:
    """Refuse a body over `max_bytes` with 413, framed by Content-Length or chunked, and say
    the limit in every answer (`BODY_LIMIT_HEADER`), so a till sizes its pushes under it.

    A declared length over the limit is refused before anything is read. Otherwise the body
    is counted as the app reads it, and the read fails as soon as the count passes the limit:
    uvicorn reads the socket only while the app asks for more, so the CRM holds at most
    the limit of one body, however much a client sends. A pure ASGI middleware, because
    Starlette's `BaseHTTPMiddleware` would read the whole body first.
    """

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self._advertised = (BODY_LIMIT_HEADER.lower().encode(), str(max_bytes).encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def advertised(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), self._advertised]}
            await send(message)

        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await too_large()(scope, receive, advertised)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge
            return message

        await self.app(scope, counted, advertised)


def decode_json(body: bytes) -> Any:
    """`body` as JSON, refused (`json.JSONDecodeError`, which FastAPI answers 422) when it is
    not strict JSON or is nested deeper than `MAX_JSON_DEPTH`.

    Python's decoder takes `NaN` and `Infinity`, and raises other errors than a decode error
    for a body nested thousands deep (RecursionError), for a number of more than 4,300 digits
    or for bytes that are not UTF-8 (ValueError): FastAPI answered those 400 or 500.
    """
    try:
        value = json.loads(body, parse_constant=_refuse_constant)
    except json.JSONDecodeError:
        raise
    except RecursionError:
        raise _undecodable(f"nested deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError as exc:
        raise _undecodable(str(exc)) from None
    if _nested_deeper_than(value, MAX_JSON_DEPTH):
        raise _undecodable(f"nested deeper than {MAX_JSON_DEPTH} levels")
    return value


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _undecodable(why: str) -> json.JSONDecodeError:
    return json.JSONDecodeError(why, "", 0)


def _nested_deeper_than(value: Any, depth: int) -> bool:
    """Whether objects and arrays in `value` nest more than `depth` deep: one level of
    containers at a time, so a deep value costs no recursion and only containers are visited
    (a push of 1,000 sales is 8,000 of them)."""
    level = [value] if isinstance(value, dict | list) else []
    for _ in range(depth):
        if not level:
            return False
        level = [
            child
            for node in level
            for child in (node.values() if isinstance(node, dict) else node)
            if isinstance(child, dict | list)
        ]
    return bool(level)


class _LimitedJsonRequest(Request):
    """A request whose JSON body is decoded by `decode_json`."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = decode_json(await self.body())
        return self._json


class JsonLimitsRoute(APIRoute):
    """The route class of every CRM router: request bodies are decoded by `decode_json`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def limited(request: Request) -> Response:
            return await handler(_LimitedJsonRequest(request.scope, request.receive))

        return limited
