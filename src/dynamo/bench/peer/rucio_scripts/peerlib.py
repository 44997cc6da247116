# mypy: ignore-errors
"""Shared by the Rucio-side scripts (run by the Rucio venv's python, never imported by Dynamo).

Reads the inventory JSON written by ``dynamo.bench.peer.scale`` and spells its names the Rucio
way: scope ``cms``, datasets ``ds_NNNNNN``, files ``f_NNNNNN_JJ``.
"""

import json
import sys
import time

SCOPE = "cms"


def load_spec(path):
    with open(path) as handle:
        return json.load(handle)


def dataset_name(index):
    return f"ds_{index:06d}"


def file_name(index, number):
    return f"f_{index:06d}_{number:02d}"


def emit(result):
    """The script's answer: one JSON line on stdout."""
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


class Stopwatch:
    def __init__(self):
        self.started = time.perf_counter()

    def seconds(self):
        return time.perf_counter() - self.started


def flush_memcached(url):
    """Stale RSE ids from a previous database would be handed out otherwise."""
    import socket

    host, port = url.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"flush_all\r\n")
        sock.recv(64)
