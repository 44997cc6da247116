# mypy: ignore-errors
"""Untimed: fill collection_replicas as DATASET rules would have (Rucio's per-RSE listing reads
only that table; replicas registered without rules have no rows there), then VACUUM ANALYZE."""

from peerlib import emit
from rucio.common.config import config_get
from sqlalchemy import create_engine, text

FILL = """
INSERT INTO collection_replicas
    (scope, name, did_type, rse_id, bytes, length, available_bytes, available_replicas_cnt,
     state, created_at, updated_at)
SELECT c.scope, c.name, 'D', r.rse_id, SUM(r.bytes), COUNT(*), SUM(r.bytes), COUNT(*), 'A',
       NOW(), NOW()
FROM contents c JOIN replicas r ON r.scope = c.child_scope AND r.name = c.child_name
GROUP BY c.scope, c.name, r.rse_id
ON CONFLICT DO NOTHING
"""


def main():
    engine = create_engine(config_get("database", "default"))
    with engine.begin() as connection:
        rows = connection.execute(text(FILL)).rowcount
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
    emit({"collection_replicas": rows})


if __name__ == "__main__":
    main()
