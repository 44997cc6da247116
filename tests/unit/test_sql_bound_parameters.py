"""SQL goes through bound parameters: no SQL text is built from values by string formatting.

The few statements that must interpolate (DDL identifiers, which no driver binds: database,
table, index and constraint names from our own schema or configuration; integers such as a
session id or a timeout) are listed here by file and function after review. A new formatted
SQL string anywhere else fails this test until it is reviewed and listed, or rewritten with
bound parameters.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).parents[2] / "src" / "dynamo"
SQL_CALLS = frozenset({"text", "exec_driver_sql", "execute", "executemany"})
REVIEWED = {
    # (file relative to src/dynamo, enclosing function): what is interpolated
    ("store/leadership.py", "_end_sessions"): "an int() session id (KILL takes no bind)",
    ("store/leadership.py", "_epoch_waiting_at_most"): "an int() of seconds (WAIT takes no bind)",
    ("store/loader.py", "rows"): "the name of our own staging table",
    ("store/engine.py", "_configure_sqlite"): "an integer constant (PRAGMA takes no bind)",
    ("store/engine.py", "_on_connect"): "BEGIN with a mode from a fixed set",
    ("store/bulk.py", "drop_secondary_indexes"): "index and constraint names of our schema",
    ("store/bulk.py", "reset_id_sequences"): "a table name of our schema and an integer",
    ("store/popularity.py", "_create_staging"): "the name of our own staging table",
    ("store/popularity.py", "_copy_upsert"): "the name of our own staging table",
    ("store/writer.py", "_copy_upsert"): "schema table and column names, our staging table",
    ("store/writer.py", "_copy_files"): "the staging table's name, given by _copy_upsert",
    ("store/writer.py", "check"): "the staging table's name, given by _copy_upsert",
    ("bench/peer/rucio_env.py", "recreate_database"): "the benchmark's database name",
    # The peer bench's bulk load into Rucio's own benchmark database (run in Rucio's venv):
    # table names and WHERE fragments are the script's constants, column names come from
    # information_schema, values are bound.
    ("bench/peer/rucio_scripts/bulkload.py", "copy_staging"): "its staging table definitions",
    ("bench/peer/rucio_scripts/bulkload.py", "insert_like"): "Rucio's table and column names",
    ("bench/peer/rucio_scripts/bulkload.py", "compare_columns"): "Rucio's table and column names",
    ("bench/peer/rucio_scripts/bulkload.py", "main"): "the constant NOW expression",
    ("bench/build.py", "ensure_database"): "the database name of the URL given",
    ("bench/build.py", "drop_database"): "the database name of the URL given",
}


def _formatted(node: ast.expr) -> bool:
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(part, ast.FormattedValue) for part in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod | ast.Add):
        return isinstance(node.left, ast.Constant) and isinstance(node.left.value, str)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return node.func.attr == "format"
    return False


def _formatted_sql() -> set[tuple[str, str]]:
    found = set()
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for call in ast.walk(function):
                if not isinstance(call, ast.Call) or not call.args:
                    continue
                name = getattr(call.func, "attr", None) or getattr(call.func, "id", None)
                if name in SQL_CALLS and _formatted(call.args[0]):
                    found.add((str(path.relative_to(SRC)), function.name))
    return found


def test_sql_is_formatted_only_where_reviewed() -> None:
    found = _formatted_sql()
    unreviewed = sorted(found - set(REVIEWED))
    assert unreviewed == [], f"SQL built by string formatting, not reviewed: {unreviewed}"


def test_the_review_list_names_only_places_that_exist() -> None:
    assert set(REVIEWED) <= _formatted_sql()
