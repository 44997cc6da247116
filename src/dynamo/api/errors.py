"""Every error leaves the API as JSON: ``{"error": {"code", "message", "details"}}``.

Dynamo errors map to a status by their stable ``code``; validation errors of the request are
400 with the offending fields in ``details``; unknown routes 404; anything unexpected is a 500
whose message does not leak internals (the traceback goes to the log).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Final

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Match

from dynamo.errors import DynamoError
from dynamo.redaction import redact

__all__ = [
    "ERROR_RESPONSES",
    "STATUS_BY_CODE",
    "ErrorBody",
    "document_errors",
    "error_response",
    "install_error_handlers",
]

log = logging.getLogger(__name__)

STATUS_BY_CODE: Final[dict[str, int]] = {
    "invalid_changeset": 400,
    "changeset_format": 400,
    "configuration": 400,
    "bad_request": 400,
    "policy": 400,
    "policy_syntax": 400,
    "policy_unknown_variable": 400,
    "pfn_translation": 400,
    "unknown_protocol": 400,
    "no_matching_rule": 400,
    "unauthenticated": 401,
    "certificate_revoked": 401,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "quota_exceeded": 409,
    "file_check_failed": 409,
    "partial_commit": 500,
    "store": 503,
    "not_leader": 503,
    "schema_version": 503,
}


def error_response(
    status: int,
    code: str,
    message: str,
    details: Any = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": redact(message)}
    if details is not None:
        body["details"] = details
    all_headers = dict(headers or {})
    if status == 401:
        all_headers.setdefault("WWW-Authenticate", "x509")
    return JSONResponse({"error": body}, status_code=status, headers=all_headers or None)


async def _dynamo_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DynamoError)
    status = STATUS_BY_CODE.get(exc.code, 400)
    if status >= 500:
        log.error("%s %s failed: %s", request.method, request.url.path, exc)
    return error_response(status, exc.code, str(exc), getattr(exc, "details", None))


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [
        {"where": ".".join(str(part) for part in error["loc"]), "message": error["msg"]}
        for error in exc.errors()
    ]
    first = details[0] if details else {"where": "request", "message": "invalid"}
    return error_response(
        400, "bad_request", f"{first['where']}: {first['message']}", details=details
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(sorted(_allowed_methods(request)))
    return error_response(exc.status_code, code, str(exc.detail), headers=headers)


_METHODS: Final = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def _allowed_methods(request: Request) -> set[str]:
    """The methods some route fully matches at this path (Starlette names only the first's)."""
    allowed: set[str] = set()
    for route in request.app.routes:
        for method in _METHODS:
            match, _ = route.matches({**request.scope, "method": method})
            if match is Match.FULL:
                allowed.add(method)
    return allowed


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("%s %s: unexpected error", request.method, request.url.path)
    return error_response(500, "internal", "internal error; the server log has the details")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DynamoError, _dynamo_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorBody(BaseModel):
    """The body of every error answer."""

    error: ErrorDetail


ERROR_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    400: {"model": ErrorBody, "description": "Bad input (the message names the field)."},
    401: {"model": ErrorBody, "description": "An identity is needed."},
    403: {"model": ErrorBody, "description": "The identity lacks a role."},
    404: {"model": ErrorBody, "description": "No such object."},
    405: {"model": ErrorBody, "description": "Method not allowed."},
    409: {"model": ErrorBody, "description": "Conflicts with the current state."},
    500: {"model": ErrorBody, "description": "Internal error."},
    503: {"model": ErrorBody, "description": "The database is unavailable."},
}
"""Declared on every route: the error envelope and the statuses Dynamo answers with."""


def document_errors(app: FastAPI) -> None:
    """Make the OpenAPI document say 400 (not FastAPI's 422) for validation errors."""
    default_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = default_openapi()
            for path in schema.get("paths", {}).values():
                for operation in path.values():
                    operation.get("responses", {}).pop("422", None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
