"""Log output: the human format (default) or one JSON object per line (`--log-format json`),
for log shippers. A JSON line holds `time` (RFC 3339, UTC, milliseconds), `level`, `logger`,
`message`, the context a call passed with `extra=` (`plan`, `batch_id`, `recipient`: the
engine's lines about one of them) and `exception` (the traceback as text) when there is one."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import logging
import os
from contextvars import ContextVar

HUMAN = "%(asctime)s %(levelname)s %(name)s: %(message)s"
CONTEXT = ("plan", "batch_id", "recipient")
# The request a line was logged in (metrics.HttpMetrics sets it): the client's X-Request-Id, or
# one made here, also returned in the response's X-Request-Id.
REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
_ids = itertools.count(1)
_PREFIX = f"{os.getpid():x}-"


def new_request_id() -> str:
    return _PREFIX + format(next(_ids), "x")


FORMATS = ("human", "json")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in CONTEXT:
            value = record.__dict__.get(key)
            if value is not None:
                out[key] = value
        request_id = REQUEST_ID.get()
        if request_id is not None:
            out["request_id"] = request_id
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def configure(level: int | str, fmt: str) -> None:
    """The root logger's one handler, on stderr. With "json", uvicorn's own loggers are left
    unconfigured (uvicorn gets no log_config) so that they reach this handler too."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(HUMAN))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
