"""Structured JSON logs, one object per line. Nothing that could hold a secret is logged.

And, in case something does (a client pastes a key into a path, a library puts one in its
message or traceback): every rendered line goes through `redact`, the one place secrets are
cut out of the log, with their prefix or without.

Every line logged while a request is being served carries its `request_id`, whichever logger
wrote it (ours, uvicorn's, a library's): the request context binds it for the request's task.
Likewise the `model` a /v1 request asks for, once it is known, and the `trace_id` while the
request is traced (`modelport.tracing`).

`MODELPORT_LOG_FORMAT=text` renders the same fields as one readable line each, for a
developer's terminal. A log file is reopened when logrotate moves it away (no copytruncate
needed): the handler notices the file it writes to is no longer at its path.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
import time
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import orjson

from modelport import tracing
from modelport.core.redaction import redact

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "color_message",
}

_request_id: ContextVar[str | None] = ContextVar("modelport_request_id", default=None)
_model: ContextVar[str | None] = ContextVar("modelport_model", default=None)


def bind_request_id(request_id: str) -> None:
    """Tag every log line written from now on in this task (one request) with its id.

    uvicorn serves each request in a task with a fresh context, so the id ends with the
    request; it is not reset on the way out, so that uvicorn's own line about an unhandled
    error still carries it.
    """
    _request_id.set(request_id)


def bind_model(model: str) -> None:
    """Tag every log line written from now on in this request with the model it asks for."""
    _model.set(model)


class JsonFormatter(logging.Formatter):
    """Renders a record and its `extra` fields as one JSON object, with UTC times, and cuts
    every secret of ours out of the whole line (message, fields, exception text)."""

    converter = staticmethod(time.gmtime)

    def format(self, record: logging.LogRecord) -> str:
        return redact(orjson.dumps(self.entry(record), default=str).decode())

    def entry(self, record: logging.LogRecord) -> dict[str, Any]:
        """The line's fields: time, level, logger, message, then the rest."""
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
        if "model" not in entry and (model := _model.get()) is not None:
            entry["model"] = model
        if (trace_id := tracing.trace_id()) is not None:
            entry["trace_id"] = trace_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return entry


class TextFormatter(JsonFormatter):
    """The same fields as one readable line: `time LEVEL logger message key=value ...`, with
    any exception's traceback below it; secrets cut out as in JSON."""

    def format(self, record: logging.LogRecord) -> str:
        entry = self.entry(record)
        exception = entry.pop("exception", None)
        head = (
            f"{entry.pop('time')} {entry.pop('level').upper():<7} {entry.pop('logger')}: "
            f"{entry.pop('message')}"
        )
        fields = " ".join(f"{key}={_text(value)}" for key, value in entry.items())
        line = f"{head}  {fields}" if fields else head
        return redact(line if exception is None else f"{line}\n{exception}")


def _text(value: object) -> str:
    """A field's value as text: bare when it is one plain word, else quoted as JSON."""
    shown = value if isinstance(value, str) else orjson.dumps(value, default=str).decode()
    if shown and not any(char.isspace() or char in '"=' for char in shown):
        return shown
    return orjson.dumps(shown).decode()


class _WorkerField(logging.Filter):
    def __init__(self, worker: int) -> None:
        super().__init__()
        self._worker = worker

    def filter(self, record: logging.LogRecord) -> bool:
        record.worker = self._worker
        return True


FORMATTERS: dict[str, type[JsonFormatter]] = {"json": JsonFormatter, "text": TextFormatter}
REOPEN_CHECK_SECONDS = 1.0


class ReopeningFileHandler(logging.handlers.WatchedFileHandler):
    """Reopens its file once logrotate has moved it away (renamed, no copytruncate).

    It looks at most once a second: the standard handler's two `stat` calls per line were
    about 4 µs of every /v1 request's access line. A line written in the second after the
    move lands at the end of the moved file (`delaycompress` keeps it uncompressed).
    """

    def __init__(self, filename: Path) -> None:
        super().__init__(filename)
        self._checked = time.monotonic()

    def emit(self, record: logging.LogRecord) -> None:
        now = time.monotonic()
        if now - self._checked >= REOPEN_CHECK_SECONDS:
            self._checked = now
            self.reopenIfNeeded()
        logging.FileHandler.emit(self, record)


def configure_logging(
    level: str, log_file: Path | None = None, log_format: str = "json", worker: int | None = None
) -> None:
    """Send every log record, uvicorn's included, through the formatter of `log_format`, to
    `log_file` (reopened when it is moved away) or standard error. A worker of `serve
    --workers` adds its number to every line (`worker`)."""
    handler: logging.Handler = (
        ReopeningFileHandler(log_file) if log_file else logging.StreamHandler(sys.stderr)
    )
    handler.setFormatter(FORMATTERS[log_format]())
    if worker is not None:
        handler.addFilter(_WorkerField(worker))
    # No line shows where a record was made nor its process or thread: skip finding them
    # (the logging HOWTO's "Optimization"; 10.1 -> 8.7 us per /v1 access line, measured
    # alone). `stack_info=True` would be ignored too; no call uses it.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True
