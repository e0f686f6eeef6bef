"""The safety net under every log line of the till and the CRM: secrets taken out of the text.

No code should ever log a card number, track data, a PIN, a token or an enrollment code (PCI DSS
3.3, 3.4), and none does on purpose; this catches the one that slips in through an exception's
message or a value formatted into a line. It recognises payment-card numbers (13-19 Luhn-valid
digits, also with spaces or dashes), magnetic-stripe tracks, bearer tokens and anything written
as `pin=...`, `token: ...` or `"code": "..."`. Both sides' log handlers carry `RedactingFilter`.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from tillcrm.domain.cards import looks_like_pan

__all__ = ["REDACTED", "RedactingFilter", "redact"]

REDACTED = "[redacted]"
"""What stands in a log line where a secret was."""

_TRACKS = re.compile(
    r"%?[A-Z]\d{12,19}\^[^^?\n]{0,26}\^[^?\s]*\??"  # track 1: %B<PAN>^NAME^data?
    r"|;?\d{12,19}=[^?\s]*\??"  # track 2: ;<PAN>=data?
)
_DIGIT_RUN = re.compile(r"(?<![\d])\d(?:[ -]?\d){12,18}(?![\d])")
_BEARER = re.compile(r"(?i)\b(bearer\s+)[^\s\"',;]{8,}")
"""A bearer credential; 8 characters at least, so "no bearer token" stays readable."""
_KEYED = re.compile(
    r"(?i)((?:\b|_)(?:pin|token|password|secret|authorization"
    r"|(?:enrollment[ _-]?)?code)\b[\"']?\s*[:=]\s*[\"']?)(?!\[redacted\])([^\s\"',;&})]+)"
)
_TILL_TOKEN = re.compile(r"(?<![\w-])[A-Za-z0-9_-]{43}(?![\w-])")
"""A till token's shape (`secrets.token_urlsafe(32)`): 43 URL-safe base64 characters."""


_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
}
"""What every log record has; anything else on one came in through `extra=`."""


def _pan(match: re.Match[str]) -> str:
    digits = re.sub(r"[ -]", "", match.group(0))
    return REDACTED if looks_like_pan(digits) else match.group(0)


def redact(text: str) -> str:
    """`text` with every card number, track, token and keyed secret replaced by `REDACTED`."""
    text = _TRACKS.sub(REDACTED, text)
    text = _DIGIT_RUN.sub(_pan, text)
    text = _BEARER.sub(rf"\1{REDACTED}", text)
    text = _KEYED.sub(rf"\1{REDACTED}", text)
    return _TILL_TOKEN.sub(REDACTED, text)


def _redact_value(value: Any) -> Any:
    """`value` redacted if it is text, or text inside a dict or list (a log line's extra
    fields); anything else as it is."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _redact_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(item) for item in value]
    return value


class RedactingFilter(logging.Filter):
    """Redacts a record's whole text before a handler writes it: the message with its
    arguments, the fields given with `extra=`, the exception's traceback and the stack.
    It never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite `record` in place (every handler after this one sees the safe text)."""
        record.msg = redact(record.getMessage())
        record.args = None
        for key, value in list(vars(record).items()):
            if key not in _RECORD_ATTRIBUTES:
                setattr(record, key, _redact_value(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
