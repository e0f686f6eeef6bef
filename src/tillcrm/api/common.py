"""Shapes shared by every API v1 path."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel

__all__ = ["API_PREFIX", "BODY_LIMIT_HEADER", "ErrorBody", "FieldProblem", "Page"]

API_PREFIX = "/v1"

BODY_LIMIT_HEADER = "X-Max-Body-Bytes"
"""The header of every CRM answer that says the largest request body it reads, in bytes: a
till learns it from whatever it asked first and sizes its pushes under it."""

T = TypeVar("T")


class FieldProblem(BaseModel):
    """One thing wrong with a request, naming the field (dotted path) it is about."""

    field: str
    message: str


class ErrorBody(BaseModel):
    """Every 4xx/5xx body: a sentence for people, a code for programs, the fields at fault."""

    detail: str
    code: str
    problems: list[FieldProblem] = []


class Page(BaseModel, Generic[T]):
    """One page of a list; pass `next_offset` back as `offset` for the next page."""

    items: list[T]
    next_offset: int | None = None
