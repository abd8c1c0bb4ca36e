"""The ``vbot_console`` Airflow plugin: the console app, its place in the UI, and the extra links.

Registered through the ``airflow.plugins`` entry point of this package (pyproject.toml), so every
Airflow installed with it loads it — ``make up`` and the compose image alike — with no plugins
folder. Importing this module stays light (Airflow's workers load plugins too): the FastAPI app
is built only when the API server asks for it.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from airflow.plugins_manager import AirflowPlugin

from vbot_provider.console import paths
from vbot_provider.console.links import CampaignConsoleLink, OutcomeFiguresLink, ReportLink


class VBotConsolePlugin(AirflowPlugin):
    name = "vbot_console"
    global_operator_extra_links = [CampaignConsoleLink(), OutcomeFiguresLink(), ReportLink()]

    @cached_property
    def fastapi_apps(self) -> list[dict[str, Any]]:  # type: ignore[override]
        from vbot_provider.console.app import create_app

        return [{"app": create_app(), "url_prefix": paths.MOUNT, "name": "VBot campaign console"}]

    @cached_property
    def external_views(self) -> list[dict[str, Any]]:  # type: ignore[override]
        # With a url_route the UI shows the page inside its own frame, at /plugin/vbot-console.
        return [{
            "name": "VBot",
            "href": paths.console_url("campaigns"),
            "url_route": paths.URL_ROUTE,
            "destination": "nav",
            "nav_top_level": True,  # a button of its own on the navigation bar
        }]
