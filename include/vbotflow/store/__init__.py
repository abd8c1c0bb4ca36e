"""The integration database: tables (SQLAlchemy Core), engine, migrations."""
