"""The SQL store: schema, migrations, commit protocol, bulk load (SQLite, PostgreSQL, MariaDB)."""
