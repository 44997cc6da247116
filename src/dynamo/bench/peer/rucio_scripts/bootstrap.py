# mypy: ignore-errors
"""Bootstrap a fresh Rucio database: schema, VO, root (admin), scope cms, the RSEs."""

import sys

from peerlib import SCOPE, emit, flush_memcached, load_spec
from rucio.common.config import config_get
from rucio.common.types import InternalAccount, InternalScope
from rucio.core.account import add_account_attribute
from rucio.core.rse import add_protocol, add_rse, add_rse_attribute
from rucio.core.scope import add_scope
from rucio.db.sqla.constants import DatabaseOperationType
from rucio.db.sqla.session import db_session
from rucio.db.sqla.util import build_database, create_base_vo, create_root_account


def main(spec_path):
    spec = load_spec(spec_path)
    flush_memcached(config_get("cache", "url"))
    build_database()
    create_base_vo()
    create_root_account()
    root = InternalAccount("root")
    with db_session(DatabaseOperationType.WRITE) as session:
        add_account_attribute(root, "admin", True, session=session)
        add_scope(InternalScope(SCOPE), root, session=session)
    for site in spec["sites"]:
        rse_id = add_rse(site["name"])
        add_rse_attribute(rse_id, "tier", str(site["tier"]))
        add_rse_attribute(rse_id, "type", "DISK")
        add_rse_attribute(rse_id, "fts", "https://fts.example.org:8446")
        add_protocol(
            rse_id,
            {
                "scheme": "root",
                "hostname": f"xrootd.{site['name'].lower()}.example.org",
                "port": 1094,
                "prefix": "/store/",
                "impl": "rucio.rse.protocols.xrootd.Default",
                "domains": {
                    "lan": {"read": 1, "write": 1, "delete": 1},
                    "wan": {
                        "read": 1,
                        "write": 1,
                        "delete": 1,
                        "third_party_copy_read": 1,
                        "third_party_copy_write": 1,
                    },
                },
            },
        )
    emit({"rses": len(spec["sites"])})


if __name__ == "__main__":
    main(sys.argv[1])
