"""The web pages of the server (see :mod:`dynamo.web.pages`)."""

from dynamo.web.pages import install_pages

__all__ = ["install_pages"]
