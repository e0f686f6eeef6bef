"""The till's log: one rotating file, so an error "logged for support" is found afterwards.

The commands that run a till (`tillcrm`, `tillcrm demo`, `tillcrm sync`) start it once, when
they start; importing tillcrm never touches logging. Every line goes through the
`RedactingFilter`, so not even a bug puts a card number, a track, a PIN or a token on disk.
tillcrm's own loggers write from `[logs] level`; other libraries only their warnings and errors
(httpx would otherwise log every request).
"""

from __future__ import annotations

import logging
from logging.handlers import RotatingFileHandler
from pathlib import Path

from tillcrm.config import LogSettings
from tillcrm.domain.redaction import RedactingFilter

__all__ = ["LOG_FILE_NAME", "log_file", "start_till_logging"]

LOG_FILE_NAME = "till.log"
"""The till's log file in `[logs] dir`; its rotated copies are `till.log.1`, `till.log.2`, ..."""

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def log_file(settings: LogSettings) -> Path:
    """Where the till writes its log."""
    return settings.dir / LOG_FILE_NAME


def start_till_logging(settings: LogSettings) -> Path:
    """Send every log line of this process to the till's rotating file; returns its path.

    Called again (the demo starts a till inside its command) it keeps the one handler.
    """
    path = log_file(settings).absolute()
    root = logging.getLogger()
    for handler in root.handlers:
        if isinstance(handler, RotatingFileHandler) and Path(handler.baseFilename) == path:
            return path
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = RotatingFileHandler(
        path, maxBytes=settings.max_bytes, backupCount=settings.backups, encoding="utf-8"
    )
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter(_FORMAT))
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("tillcrm").setLevel(settings.level)
    return path
