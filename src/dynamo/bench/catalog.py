"""The real CMS name lists shipped with the package (``dynamo/bench/data``, see its SOURCE.txt).

The generator works from a fresh clone: nothing here reads outside the installed package.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

__all__ = [
    "PartitionDefinition",
    "load_dataset_names",
    "load_partition_definitions",
    "load_phedex_node_names",
    "parse_partition_definitions",
]

_PACKAGE = "dynamo.bench"


@dataclass(frozen=True, slots=True)
class PartitionDefinition:
    """One line of a partitions file: a condition, or (for a superpartition) a list of names."""

    name: str
    condition_text: str | None
    subpartitions: tuple[str, ...]


def _read_text(folder: str, name: str) -> str:
    return (
        resources.files(_PACKAGE)
        .joinpath("data")
        .joinpath(folder)
        .joinpath(name)
        .read_text(encoding="utf-8")
    )


@cache
def load_dataset_names() -> tuple[str, ...]:
    """The 5,131 real CMS dataset names ``/Primary/Processed/TIER``, sorted."""
    return tuple(line for line in _read_text("dynamo_policies", "dataset_names.txt").split())


@cache
def load_phedex_node_names() -> tuple[str, ...]:
    """The distinct real PhEDEx node names of CMS's CRIC extract, sorted."""
    pairs = json.loads(_read_text("wmcore", "cric_pnn_psn_extract.json"))
    return tuple(sorted({str(pair["phedex_name"]) for pair in pairs}))


def parse_partition_definitions(text: str) -> tuple[PartitionDefinition, ...]:
    """Parse the ``Name: condition`` / ``Name: [A, B]`` lines of a partitions file.

    Blank lines and ``#`` comments are skipped; the condition is kept as written (stripped).
    """
    found: list[PartitionDefinition] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, _, rest = line.partition(":")
        rest = rest.strip()
        if rest.startswith("[") and rest.endswith("]"):
            subs = tuple(part.strip() for part in rest[1:-1].split(",") if part.strip())
            found.append(PartitionDefinition(name.strip(), None, subs))
        else:
            found.append(PartitionDefinition(name.strip(), rest, ()))
    return tuple(found)


@cache
def load_partition_definitions() -> tuple[PartitionDefinition, ...]:
    """The 14 real CMS partition definitions of ``partitions.txt``, in file order."""
    return parse_partition_definitions(_read_text("dynamo_policies", "partitions.txt"))
