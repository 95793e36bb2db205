"""Structured JSON logs, one object per line. Nothing that could hold a secret is logged.

And, in case something does (a client pastes a key into a path, a library puts one in its
message or traceback): every rendered line goes through `redact`, the one place secrets are
cut out of the log, with their prefix or without.

Every line logged while a request is being served carries its `request_id`, whichever logger
wrote it (ours, uvicorn's, a library's): the request context binds it for the request's task.
"""

from __future__ import annotations

import logging
import sys
import time
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import orjson

from modelport.core.redaction import redact

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "color_message",
}

_request_id: ContextVar[str | None] = ContextVar("modelport_request_id", default=None)


def bind_request_id(request_id: str) -> None:
    """Tag every log line written from now on in this task (one request) with its id.

    uvicorn serves each request in a task with a fresh context, so the id ends with the
    request; it is not reset on the way out, so that uvicorn's own line about an unhandled
    error still carries it.
    """
    _request_id.set(request_id)


class JsonFormatter(logging.Formatter):
    """Renders a record and its `extra` fields as one JSON object, with UTC times, and cuts
    every secret of ours out of the whole line (message, fields, exception text)."""

    converter = staticmethod(time.gmtime)

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if "request_id" not in entry and (request_id := _request_id.get()) is not None:
            entry["request_id"] = request_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return redact(orjson.dumps(entry, default=str).decode())


def configure_logging(level: str, log_file: Path | None = None) -> None:
    """Send every log record, uvicorn's included, through the JSON formatter."""
    handler: logging.Handler = (
        logging.FileHandler(log_file) if log_file else logging.StreamHandler(sys.stderr)
    )
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True
