"""vbot_provider: the Airflow-facing side of vbotflow (the VBot hook and operators)."""

from __future__ import annotations

__version__ = "0.1.0"


def get_provider_info() -> dict:
    """Provider metadata read by Airflow's ProvidersManager (entry point ``apache_airflow_provider``)."""
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
        "hooks": [{"integration-name": "VBot", "python-modules": ["vbot_provider.hooks.vbot"]}],
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
                "conn-fields": {
                    "vbot_id": {
                        "label": "VBot ID",
                        "description": "Your customer VBot ID (vbotId in the create body).",
                        "schema": {"type": "string"},
                    },
                    "group_code": {
                        "label": "Group code",
                        "description": "Group ('Mã nhóm', groupCode in the create body).",
                        "schema": {"type": "string"},
                    },
                    "max_retries": {
                        "label": "Retries of transient errors",
                        "schema": {"type": ["integer", "null"], "default": 3, "minimum": 0, "maximum": 10},
                    },
                    "backoff_seconds": {
                        "label": "First backoff (seconds)",
                        "schema": {"type": ["number", "null"], "default": 2, "minimum": 0},
                    },
                    "timeout_seconds": {
                        "label": "Read timeout (seconds)",
                        "schema": {"type": ["number", "null"], "default": 30, "minimum": 1},
                    },
                },
            }
        ],
    }
