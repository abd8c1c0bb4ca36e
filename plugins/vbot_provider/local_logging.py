"""Task logs for a machine where every Airflow process writes one log folder (``make up``).

Airflow's API server reads the log of a running or deferred task from the log server of the
worker or triggerer that holds it. ``make up`` starts no log servers (each would listen on every
interface, on a fixed port): all its processes write the same folder, which the API server reads
anyway. Without this handler every look at such a log adds "Could not read served logs" to the log
and an error with a traceback to the API server's own log. Selected by
``AIRFLOW__LOGGING__LOGGING_CONFIG_CLASS=vbot_provider.local_logging.LOGGING_CONFIG``.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from airflow.config_templates.airflow_local_settings import DEFAULT_LOGGING_CONFIG
from airflow.utils.log.file_task_handler import FileTaskHandler


class SharedFolderTaskHandler(FileTaskHandler):
    """Airflow's file task handler, minus the log servers: the shared folder already holds every line."""

    def _read_from_logs_server(self, ti: Any, worker_log_rel_path: str) -> tuple[list[str], list[Any]]:
        return [], []


LOGGING_CONFIG: dict[str, Any] = deepcopy(DEFAULT_LOGGING_CONFIG)
LOGGING_CONFIG["handlers"]["task"]["class"] = f"{__name__}.SharedFolderTaskHandler"
