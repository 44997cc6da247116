"""The SQL backends every store test runs on (servers as in tests/conftest.py)."""

SQL_BACKENDS = ("sqlite", "postgresql", "mysql")
