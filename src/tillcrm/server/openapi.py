"""What the CRM's OpenAPI document (`/v1/openapi.json`) says each operation answers.

FastAPI documents a route's success and, for a route with parameters, a 422 whose body is its
own `HTTPValidationError`. The CRM answers every error with an `ErrorBody` instead, and answers
401, 404, 409, 413... that FastAPI cannot guess. A client generated from the document, or the
fuzzer that checks the CRM against it (tests/server/test_openapi.py), must see what really comes
back, so each router or route declares the errors it answers with `error_responses`.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from tillcrm.api import CustomerOut, ErrorBody

__all__ = ["VersionConflict", "error_responses", "install_method_not_allowed"]


class VersionConflict(ErrorBody):
    """The 409 of a customer edit made against an older version: the CRM's customer as it is
    now, so the till can show both and let the cashier choose (see `rest_writes`)."""

    current: CustomerOut


_MEANINGS: dict[int, str] = {
    401: "No till token, or one the CRM does not know (revoked, or never issued).",
    403: "Refused for this caller: an override the CRM cannot accept.",
    404: "Not found, or outside the calling till's scope (the two read alike).",
    409: "A version conflict: the edit was made against an older version of the customer.",
    410: "This card or tag exists in the till's scope but is blocked.",
    413: "The request body is over the CRM's limit.",
    422: "The request is invalid, or a business rule refused it (`code` says which).",
    429: "Too many tries: the operator is locked; `Retry-After` says for how many seconds.",
    503: "The CRM cannot serve now (its database does not answer); try again later.",
}
"""Each error status a route may declare, and what it means on any route."""

_CHALLENGE = {
    "WWW-Authenticate": {
        "description": "The scheme to authenticate with (RFC 9110 section 11.6.1).",
        "required": True,
        "schema": {"type": "string", "pattern": "^Bearer( |$)"},
    }
}

_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds until the request may succeed (RFC 9110 section 10.2.3).",
        "required": True,
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    }
}

_HEADERS = {401: _CHALLENGE, 429: _RETRY_AFTER}

_MODELS: dict[int, type[ErrorBody]] = {409: VersionConflict}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a router or route answering these error statuses, each with its
    real body (an `ErrorBody`, with the current customer for a 409) and, for a 401, the
    `WWW-Authenticate` challenge every 401 carries (for a 429, its `Retry-After`). Declaring
    422 also replaces FastAPI's `HTTPValidationError`, which is not what the CRM answers."""
    responses: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        response: dict[str, Any] = {
            "model": _MODELS.get(status, ErrorBody),
            "description": _MEANINGS[status],
        }
        if status in _HEADERS:
            response["headers"] = _HEADERS[status]
        responses[status] = response
    return responses


def install_method_not_allowed(app: FastAPI) -> None:
    """Answer a method a path does not serve with a 405 `ErrorBody` whose `Allow` lists every
    method the document gives the path (Starlette's own `Allow` for a path it does not
    document). Starlette's lists only the path's first route, so the 405 of `DELETE
    /customers/{id}` left out PATCH (FastAPI makes a route per method)."""

    @app.exception_handler(405)
    async def _method_not_allowed(request: Request, exc: HTTPException) -> JSONResponse:
        path = request.url.path
        allowed = sorted(
            method.upper()
            for template, item in app.openapi()["paths"].items()
            if _template_pattern(template).fullmatch(path)
            for method in item
        )
        body = ErrorBody(detail=f"{request.method} is not allowed here", code="method_not_allowed")
        return JSONResponse(
            body.model_dump(),
            status_code=405,
            headers={"Allow": ", ".join(allowed) or (exc.headers or {}).get("Allow", "")},
        )


def _template_pattern(template: str) -> re.Pattern[str]:
    """The paths a document's path template (`/v1/customers/{customer_id}`) stands for."""
    return re.compile("[^/]+".join(re.escape(part) for part in re.split(r"\{[^/{}]+\}", template)))
