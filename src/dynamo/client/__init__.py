"""The client side of the REST API, used by the CLI and by scripts."""

from dynamo.client.credentials import Credentials, credentials_from_env
from dynamo.client.http import ApiError, DynamoClient, client_from_env

__all__ = ["ApiError", "Credentials", "DynamoClient", "client_from_env", "credentials_from_env"]
