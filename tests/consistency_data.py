"""The original dynamo-consistency test material, read into our types.

``filedump.txt`` is an inventory dump (``LFN | size``); ``remotelist.txt`` a site listing as
the original serialised its trees: ``compare: C mtime: M my hash: H path: P`` for a directory,
``mtime: M size: S my hash: H name: N`` for a file of the directory above. An mtime of ``None``
reads as the epoch.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dynamo.consistency import ExpectedFile
from dynamo.storage import FileStat

FIXTURES = Path(__file__).parent / "fixtures"
ORIGINAL = FIXTURES / "dynamo-consistency"
UNMERGED = FIXTURES / "WMCore-msunmerged"

_DIR = re.compile(r"compare: \d+ mtime: (\S+) my hash: \S+ path: (\S+)")
_FILE = re.compile(r"mtime: (\S+) size: (\d+) my hash:\S+ name: (\S+)")


def _time(text: str) -> datetime:
    return datetime.fromtimestamp(0 if text == "None" else int(text), UTC)


def original_inventory(since: int = 0) -> dict[str, ExpectedFile]:
    """filedump.txt as expected files (dataset and block named after the directory)."""
    found = {}
    for line in (ORIGINAL / "filedump.txt").read_text().splitlines():
        lfn, size = (part.strip() for part in line.split("|"))
        directory = lfn.rsplit("/", 1)[0]
        found[lfn] = ExpectedFile(lfn, int(size), "", directory, "b", since)
    return found


def original_listing() -> list[FileStat]:
    """remotelist.txt as a listing (the root /store itself left out, as walk leaves it)."""
    entries: list[FileStat] = []
    current = "/"
    for line in (ORIGINAL / "remotelist.txt").read_text().splitlines():
        directory = _DIR.match(line)
        if directory:
            current = directory.group(2)
            if current != "/store":
                entries.append(FileStat(current, 0, _time(directory.group(1)), is_dir=True))
            continue
        file = _FILE.match(line)
        assert file, line
        path = f"{current}/{file.group(3)}"
        entries.append(FileStat(path, int(file.group(2)), _time(file.group(1))))
    return entries


def original_config(name: str) -> dict[str, Any]:
    return dict(json.loads((ORIGINAL / name).read_text()))


def protected_prefixes() -> list[str]:
    return list(json.loads((UNMERGED / "protectedLFNsDump.json").read_text()))


def unmerged_files() -> list[str]:
    return list(json.loads((UNMERGED / "rseUnmergedDump.json").read_text()))
