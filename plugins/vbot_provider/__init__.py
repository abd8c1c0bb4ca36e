"""vbot_provider: the Airflow-facing side of vbotflow (the VBot hook and operators)."""

from __future__ import annotations

__version__ = "0.1.0"


def get_provider_info() -> dict:
    """Provider metadata read by Airflow's ProvidersManager (entry point ``apache_airflow_provider``)."""
    from vbot_provider.conn_fields import VBOT_EXTRAS

    return {
        "package-name": "vbotflow",
        "name": "VBot auto-call",
        "description": "Create VBot auto-call campaigns from CRM lists, exactly once.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "VBot",
                "external-doc-url": "https://vbot.vn",
                "tags": ["service"],
            }
        ],
        "hooks": [{"integration-name": "VBot",
                   "python-modules": ["vbot_provider.hooks.vbot", "vbot_provider.hooks.sql"]}],
        "operators": [{"integration-name": "VBot", "python-modules": ["vbot_provider.operators.vbot"]}],
        "connection-types": [
            {
                "connection-type": "vbot",
                "hook-class-name": "vbot_provider.hooks.vbot.VBotHook",
                "hook-name": "VBot",
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "port", "extra"],
                    "relabeling": {
                        "host": "Base URL",
                        "login": "Username (token grant)",
                        "password": "Access token, or password for the token grant",
                    },
                    "placeholders": {
                        "host": "https://api.vbot.vn",
                        "login": "leave empty to use the password field as a static access token",
                    },
                },
                "conn-fields": {field.name: field.conn_field() for field in VBOT_EXTRAS},
            },
            {
                "connection-type": "sqlalchemy_url",
                "hook-class-name": "vbot_provider.hooks.sql.SqlAlchemyUrlHook",
                "hook-name": "Database (SQLAlchemy URL)",
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "port", "host", "login", "extra"],
                    "relabeling": {"password": "Password (put into the URL; leave it out of the URL field)"},
                },
                "conn-fields": {
                    "sqlalchemy_url": {
                        "label": "SQLAlchemy URL",
                        "description": "The database, e.g. postgresql+psycopg://crm@db.internal:5432/crm, "
                                       "mysql+pymysql://crm@db:3306/crm or sqlite:////srv/vbotflow/crm.db. "
                                       "Put the password in the Password field, not in the URL.",
                        "schema": {"type": "string"},
                    },
                },
            },
        ],
    }
