"""Sentences for the cashier built from the facade's lower-case answers."""

from __future__ import annotations

__all__ = ["sentence"]


def sentence(text: str) -> str:
    """`text` with its first letter upper-case and the rest untouched (`CRM` stays `CRM`)."""
    return text[:1].upper() + text[1:]
