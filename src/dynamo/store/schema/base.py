"""The metadata every table of the store is declared on, and the column types they share."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, LargeBinary, MetaData
from sqlalchemy.dialects import mysql

__all__ = ["NAMING", "BigId", "Blob", "metadata"]

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)

# BIGINT ids where row counts reach the tens of millions; SQLite needs INTEGER for rowid aliasing.
BigId = BigInteger().with_variant(Integer(), "sqlite")
# A MEDIUMBLOB on MySQL: a large ChangeSet exceeds BLOB's 64 KiB.
Blob = LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")
