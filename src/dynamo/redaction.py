"""Keep secrets out of logs and error messages.

:func:`redact` replaces with ``***``:

- the password of a URL (``postgresql://dynamo:***@db/dynamo``);
- the credentials of ``Authorization:``/``Proxy-Authorization:`` and of ``Bearer``/``Basic``
  schemes, and the value of a ``Cookie:``/``Set-Cookie:`` header;
- the value of ``password=``, ``token=``, ``secret=``... (query strings, ``key=value`` text)
  and of JSON/dict members with such names (``"password": "..."``);
- every secret registered with :func:`register_secret`: the password of each database URL
  Dynamo opens (:func:`dynamo.store.engine.normalize_url` registers it) and the values of
  environment variables named like secrets (``*_PASSWORD``, ``*_TOKEN``, ``*_SECRET*``,
  ``AWS_SECRET_ACCESS_KEY``...), registered by :func:`install`.

:func:`install` (called once by the ``dynamo`` command) makes every log record of the process
pass through :func:`redact` (message and traceback) at creation, whatever its logger or handler
(uvicorn's included), and forked children inherit it. The API's error bodies and the CLI's
error lines are redacted too, as are the arguments of application runs it shows
(:func:`redact_values`). An application run's child also writes its standard output and error
through a :class:`RedactingWriter` (tracebacks, ``print``), so its stored log holds no secret.
"""

from __future__ import annotations

import io
import logging
import os
import re
import threading
from collections.abc import Mapping
from typing import Any, Final, TextIO

__all__ = ["MASK", "RedactingWriter", "install", "redact", "redact_values", "register_secret"]

MASK: Final = "***"
_MIN_SECRET: Final = 6
"""Shorter registered values are not masked (they would blank out ordinary words)."""

_NAMES: Final = r"(?:passw(?:or)?d|pwd|secret|token|api_?key|access_?key|secret_?key)"
_PATTERNS: Final = (
    # scheme://user:PASSWORD@host
    (re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://[^\s/:@'\"\[]*:)[^\s@/'\"]+(@)"), rf"\1{MASK}\2"),
    # Authorization: Bearer X / Basic X / anything
    (
        re.compile(r"(?i)(\b(?:proxy-)?authorization['\"]?\s*[:=,]\s*['\"]?)[^'\"\r\n,}]+"),
        rf"\1{MASK}",
    ),
    (re.compile(r"(?i)(\b(?:bearer|basic)\s+)[A-Za-z0-9._~+/=-]+"), rf"\1{MASK}"),
    # Cookie: a=b; c=d
    (re.compile(r"(?i)(\b(?:set-)?cookie['\"]?\s*[:=,]\s*['\"]?)[^'\"\r\n}]+"), rf"\1{MASK}"),
    # "password": "x" / 'token': 'x'
    (
        re.compile(rf"(?i)(['\"][\w-]*{_NAMES}[\w-]*['\"]\s*:\s*)(['\"])(?:\\.|(?!\2).)*\2"),
        rf"\1\2{MASK}\2",
    ),
    # password=x (query strings, key=value)
    (re.compile(rf"(?i)(\b[\w-]*{_NAMES}[\w-]*=)[^&\s'\",;)]+"), rf"\1{MASK}"),
)
_MAY_HOLD: Final = re.compile(rf"(?i)://|authorization|bearer|basic|cookie|{_NAMES}")
"""What every text that one of the patterns changes contains (a URL, a header or scheme name,
a secret-like name): one scan passes the other texts (most log lines) through."""
_SECRET_ENV: Final = re.compile(r"(?i)(PASSW(OR)?D|SECRET|TOKEN|API_?KEY|ACCESS_KEY)")

_lock = threading.Lock()
_secrets: set[str] = set()
_literal: re.Pattern[str] | None = None
_installed = False


def _unlock_in_child() -> None:
    global _lock
    _lock = threading.Lock()  # a forked child's copy may be held by a thread it has not


os.register_at_fork(after_in_child=_unlock_in_child)


def register_secret(value: str | None) -> None:
    """Mask ``value`` wherever it appears from now on (ignored if shorter than 6 characters)."""
    global _literal
    if not value or len(value) < _MIN_SECRET or value in _secrets:
        return
    with _lock:
        _secrets.add(value)
        ordered = sorted(_secrets, key=len, reverse=True)
        _literal = re.compile("|".join(re.escape(secret) for secret in ordered))


def redact(text: str) -> str:
    """``text`` with every secret it shows replaced by ``***`` (module docstring)."""
    literal = _literal
    if literal is not None:
        text = literal.sub(MASK, text)
    return text if _MAY_HOLD.search(text) is None else _substitute(text)


def _substitute(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_values(value: Any) -> Any:
    """``value`` (JSON-like: dicts, lists, scalars) with every string in it redacted."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {key: redact_values(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact_values(item) for item in value]
    return value


class RedactingWriter(io.TextIOBase):
    """A text stream writing to ``target`` what :func:`redact` leaves of what it is given.
    Text is held until its line ends (a secret written in pieces, as ``print`` and
    ``traceback`` do, is still masked); :meth:`flush` writes the unfinished line."""

    def __init__(self, target: TextIO) -> None:
        super().__init__()
        self._target = target
        self._pending = ""

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._target.fileno()

    def write(self, text: str) -> int:
        pending = self._pending + text
        end = pending.rfind("\n") + 1
        self._pending = pending[end:]
        if end:
            self._target.write(redact(pending[:end]))
        return len(text)

    def flush(self) -> None:
        if self._pending:
            self._target.write(redact(self._pending))
            self._pending = ""
        self._target.flush()


def install(environ: Mapping[str, str] | None = None) -> None:
    """Redact every log record made in this process from now on, and register the values of
    the secret-named variables of ``environ`` (default ``os.environ``). Idempotent."""
    global _installed
    for name, value in (os.environ if environ is None else environ).items():
        if _SECRET_ENV.search(name):
            register_secret(value)
    with _lock:
        if _installed:
            return
        _installed = True
    make_record = logging.getLogRecordFactory()
    formatter = logging.Formatter()

    def redacting_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        _redact_message(record)
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(formatter.formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return record

    logging.setLogRecordFactory(redacting_record)


def _redact_message(record: logging.LogRecord) -> None:
    """Redact the message of ``record``. When nothing is masked the record is left alone;
    otherwise its string arguments are redacted one by one if that hides every secret (some
    formatters, uvicorn's access log among them, read the arguments), else the message is
    replaced by its redacted text."""
    try:
        message = record.getMessage()
    except (TypeError, ValueError):  # a malformed call: the handler reports it
        return
    redacted = redact(message)
    if redacted == message:
        return
    if isinstance(record.args, tuple):
        args = tuple(redact(arg) if isinstance(arg, str) else arg for arg in record.args)
        try:
            partly = str(record.msg) % args
        except (TypeError, ValueError):
            partly = None
        if partly is not None and redact(partly) == partly:
            record.args = args
            return
    record.msg, record.args = redacted, None
