"""One line per event, in logfmt or JSON, with the event's fields (target, SP, endpoint...)."""

from __future__ import annotations

import json
import logging
import sys
import unicodedata
from datetime import UTC, datetime

# Attributes every LogRecord has; anything else on a record came from `extra=` and is a field.
_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
LEVELS = ("debug", "info", "warn", "error")


def _fields(record: logging.LogRecord) -> dict[str, object]:
    fields: dict[str, object] = {
        "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
        "level": record.levelname.lower().replace("warning", "warn"),
        "msg": record.getMessage(),
    }
    fields.update(
        (key, value) for key, value in vars(record).items() if key not in _RECORD_ATTRIBUTES
    )
    if record.exc_info and record.exc_info[1] is not None:
        error = record.exc_info[1]
        frame = _innermost_frame(record)
        fields["error"] = f"{type(error).__name__}: {error}"
        if frame:
            fields["at"] = frame
    return fields


def _innermost_frame(record: logging.LogRecord) -> str | None:
    """file:line of where an unexpected exception was raised, to keep the event on one line."""
    traceback = record.exc_info[2] if record.exc_info else None
    if traceback is None:
        return None
    while traceback.tb_next is not None:
        traceback = traceback.tb_next
    code = traceback.tb_frame.f_code
    return f"{code.co_filename}:{traceback.tb_lineno} in {code.co_name}"


class LogfmtFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return " ".join(f"{key}={_logfmt_value(value)}" for key, value in _fields(record).items())


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(_fields(record), default=str)


# Characters a terminal or a line-based tool would act on rather than show: controls (ESC,
# BEL, CR...), format characters (U+202E turns text around), line and paragraph separators,
# and lone surrogates (which cannot even be written as UTF-8).
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_SHORT_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(character: str) -> str:
    short = _SHORT_ESCAPES.get(character)
    if short is not None:
        return short
    if character.isascii() and character.isprintable():
        return character
    if unicodedata.category(character) not in _UNSAFE_CATEGORIES:
        return character
    code = ord(character)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _logfmt_value(value: object) -> str:
    """A value as logfmt writes it: bare when it is plain, else quoted with every control and
    format character escaped as JSON escapes them, so that upstream text can neither break
    the line nor act on a terminal."""
    text = str(value)
    if text and text.isascii() and text.isprintable() and not any(c in text for c in ' "=\\'):
        return text
    return '"' + "".join(_escaped(character) for character in text) + '"'


def setup_logging(level: str, log_format: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else LogfmtFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING if level == "warn" else level.upper())
    # urllib3's debug lines carry full URLs and say nothing our own events do not.
    logging.getLogger("urllib3").setLevel(logging.WARNING)
