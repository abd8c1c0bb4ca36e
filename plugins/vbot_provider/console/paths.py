"""Where the console lives: its mount point, and URLs of it and of Airflow's UI pages."""

from __future__ import annotations

from urllib.parse import quote, urlencode

# The console's FastAPI app is mounted here on the API server; the UI shows it at /plugin/<URL_ROUTE>.
MOUNT = "/vbot-console"
URL_ROUTE = "vbot-console"


def base_path() -> str:
    """The path Airflow's UI is served under (``[api] base_url``), without a trailing slash."""
    from airflow.api_fastapi.app import get_cookie_path

    return get_cookie_path().rstrip("/")


def console_url(page: str, base: str | None = None, **query: object) -> str:
    """``<base>/vbot-console/<page>?<query>``, leaving out empty query values."""
    base = base_path() if base is None else base
    params = {k: str(v) for k, v in query.items() if v not in (None, "")}
    return f"{base}{MOUNT}/{page}" + (f"?{urlencode(params)}" if params else "")


def dag_url(base: str, dag_id: str) -> str:
    return f"{base}/dags/{quote(dag_id, safe='')}"


def dag_run_url(base: str, dag_id: str, run_id: str) -> str:
    return f"{dag_url(base, dag_id)}/runs/{quote(run_id, safe='')}"


def task_url(base: str, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> str:
    url = f"{dag_run_url(base, dag_id, run_id)}/tasks/{quote(task_id, safe='')}"
    return url if map_index < 0 else f"{url}/mapped/{map_index}"
