"""A small synchronous client of the REST API (httpx), raising ApiError with the server's error."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import httpx

from dynamo.client.credentials import Credentials, credentials_from_env
from dynamo.errors import DynamoError

__all__ = ["DEFAULT_SERVER", "ApiError", "DynamoClient", "client_from_env"]

DEFAULT_SERVER = "https://127.0.0.1:8443"


class ApiError(DynamoError):
    """The server answered with an error: its HTTP status, stable code and message."""

    code = "api_error"

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        self.status = status
        self.code = code
        self.details = details
        super().__init__(f"HTTP {status} {code}: {message}")


class DynamoClient:
    """Calls ``{server}/api/v1/...``; JSON in, JSON out."""

    def __init__(
        self,
        server: str = DEFAULT_SERVER,
        *,
        credentials: Credentials | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 60.0,
    ) -> None:
        verify: Any = True
        if server.startswith("https://"):
            verify = (credentials or Credentials()).ssl_context()
        self._http = httpx.Client(
            base_url=server.rstrip("/") + "/api/v1",
            verify=verify,
            transport=transport,
            timeout=timeout,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> DynamoClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> Any:
        """The decoded JSON answer; ApiError for an error answer, DynamoError if unreachable."""
        try:
            response = self._http.request(method, path, params=params, json=json)
        except httpx.HTTPError as exc:
            raise DynamoError(f"cannot reach the Dynamo server: {exc}") from exc
        if response.status_code >= 400:
            raise _api_error(response)
        return response.json() if response.content else None

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None})

    def post(self, path: str, body: Any) -> Any:
        return self.request("POST", path, json=body)

    def delete(self, path: str, **params: Any) -> Any:
        return self.request("DELETE", path, params=params)


def _api_error(response: httpx.Response) -> ApiError:
    try:
        error = response.json()["error"]
        return ApiError(response.status_code, error["code"], error["message"], error.get("details"))
    except (ValueError, KeyError, TypeError):
        return ApiError(response.status_code, "http_error", response.text[:200])


def client_from_env(server: str | None = None) -> DynamoClient:
    """A client of ``server`` (default ``$DYNAMO_SERVER``) with the grid credentials."""
    return DynamoClient(
        server or os.environ.get("DYNAMO_SERVER", DEFAULT_SERVER),
        credentials=credentials_from_env(),
    )
