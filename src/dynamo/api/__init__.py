"""The REST API: versioned JSON under /api/v1, described by OpenAPI."""
