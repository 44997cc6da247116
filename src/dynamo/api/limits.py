"""Request bodies larger than the server accepts are refused before they are read.

A pure ASGI middleware: a ``Content-Length`` above the limit gets 413 at once, without reading
a byte; a body sent without a length (chunked) is read here first, counted as it arrives and
refused with 413 as soon as it passes the limit (so at most ``limit`` bytes are held), then
handed to the route. The answer is the API's JSON error
(``{"error": {"code": "body_too_large", ...}}``).
"""

from __future__ import annotations

from typing import Any, Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dynamo.api.errors import error_response

__all__ = ["DEFAULT_MAX_BODY", "BodyLimit"]

DEFAULT_MAX_BODY: Final = 64 * 1024 * 1024
"""Bytes: room for an injection of some 100,000 files in one JSON document."""


class BodyLimit:
    """See the module docstring; ``limit`` in bytes."""

    def __init__(self, app: ASGIApp, limit: int = DEFAULT_MAX_BODY) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.limit:
            await self._refuse(scope, receive, send, f"{declared:,} bytes declared")
            return
        if declared is not None:
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        received = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            received += len(message.get("body", b""))
            if received > self.limit:
                await self._refuse(scope, receive, send, f"more than {self.limit:,} bytes sent")
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, what: str) -> None:
        response = error_response(
            413,
            "body_too_large",
            f"the request body is too large ({what}); this server accepts at most "
            f"{self.limit:,} bytes: split the request",
            {"limit": self.limit},
        )
        await response(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    headers: Any = scope.get("headers") or []
    for name, value in headers:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
