"""``python -m dynamo``: the same command as ``dynamo`` (the demo starts its processes so)."""

from dynamo.cli.main import app

app(prog_name="dynamo")
