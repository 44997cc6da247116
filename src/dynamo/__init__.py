"""Dynamo: dynamic data management for scientific data spread over many storage sites."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("dynamo")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
