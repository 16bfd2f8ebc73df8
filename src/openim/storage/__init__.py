"""Storage: SQLAlchemy Core, one code path for SQLite and PostgreSQL."""
