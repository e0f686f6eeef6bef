"""Errors the CRM answers with: always an `ErrorBody` that names the field at fault."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from tillcrm.api import ErrorBody, FieldProblem
from tillcrm.server.logs import note_error
from tillcrm.server.request_limits import BodyTooLarge, too_large

__all__ = ["ApiError", "Rejection", "install_error_handlers", "problems_of", "storable"]


class ApiError(Exception):
    """An HTTP error with a stable code, a sentence and optionally the fields at fault."""

    def __init__(
        self, status: int, code: str, detail: str, problems: list[FieldProblem] | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.problems = problems or []

    @classmethod
    def not_found(cls, what: str) -> ApiError:
        """404: also the answer for anything outside the till's scope (no existence leak)."""
        return cls(404, "not_found", f"{what} not found")


class Rejection(Exception):
    """A business rule refused an op (limit, unknown customer...): stored, and seq advances."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def storable(text: str) -> str:
    """`text` with NUL characters and lone surrogates escaped: an answer or a stored reason may
    name what a request held (a custom field's name with a NUL in it), and neither PostgreSQL
    nor UTF-8 can take those."""
    return text.replace("\x00", "\\x00").encode("utf-8", "backslashreplace").decode()


def problems_of(error: ValidationError | RequestValidationError) -> list[FieldProblem]:
    """One `FieldProblem` per pydantic error, the field as a dotted path without `body.`."""
    problems = []
    for item in error.errors():
        loc = [str(part) for part in item["loc"]]
        if loc and loc[0] in {"body", "query", "path", "header"}:
            loc = loc[1:]
        message = item["msg"]
        if item["type"] == "json_invalid":  # FastAPI's message alone does not say what
            message = f"{message}: {item.get('ctx', {}).get('error', '')}"
        field = storable(".".join(loc)) or "(body)"
        problems.append(FieldProblem(field=field, message=message))
    return problems


def _headers(status: int, headers: dict[str, str] | None = None) -> dict[str, str] | None:
    """`headers`, with the challenge every 401 must carry (RFC 9110 section 11.6.1): the CRM's
    one scheme is a bearer token, a till's or the admin's."""
    if status != 401:
        return headers
    return {**(headers or {}), "WWW-Authenticate": "Bearer"}


def _body(code: str, detail: str, problems: list[FieldProblem]) -> dict[str, object]:
    return ErrorBody(detail=detail, code=code, problems=problems).model_dump()


def install_error_handlers(app: FastAPI) -> None:
    """Every error, ours or the framework's, answers with an `ErrorBody`."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        note_error(request.scope, f"{exc.code}: {exc.detail}")
        return JSONResponse(
            _body(exc.code, exc.detail, exc.problems),
            status_code=exc.status,
            headers=_headers(exc.status),
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = problems_of(exc)
        detail = "; ".join(f"{p.field}: {p.message}" for p in problems) or "invalid request"
        note_error(request.scope, f"invalid: {detail}")
        return JSONResponse(_body("invalid", detail, problems), status_code=422)

    @app.exception_handler(BodyTooLarge)
    async def _too_large(request: Request, _exc: BodyTooLarge) -> JSONResponse:
        note_error(request.scope, "too_large: request body too large")
        return too_large()

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        note_error(request.scope, f"http_error: {exc.detail}")
        return JSONResponse(
            _body("http_error", str(exc.detail), []),
            status_code=exc.status_code,
            headers=_headers(exc.status_code, getattr(exc, "headers", None)),
        )
