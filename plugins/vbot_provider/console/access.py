"""Who may see and do what in the console, asked of Airflow's auth manager.

Authentication is Airflow's own: the ``Authorization: Bearer`` JWT of the REST API, or the ``_token``
cookie the UI holds (``GetUserDep``: no token → 401, a bad or expired one → 401/403). Authorization
follows the campaign DAGs: the runs, rejects and outcomes of config X are readable by whoever may
read the runs of DAG ``vbot_campaign__X``, and resolving one of its runs needs edit rights on them
(``PUT``), as triggering or clearing that DAG would. The report files belong to ``vbot_reconcile``.
Erasing a person's data touches every config's tables and files at once, so it asks for more: edit
rights on Airflow's configuration (``op`` or ``admin`` in the simple auth manager, Admin in FAB).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal

from fastapi import HTTPException, status

from vbotflow.campaigns.config import dag_id_for

if TYPE_CHECKING:
    from airflow.api_fastapi.auth.managers.models.base_user import BaseUser

RECONCILE_DAG_ID = "vbot_reconcile"
Method = Literal["GET", "PUT"]


class Access:
    """One request's user and the answers the auth manager gave about it (asked once per DAG)."""

    def __init__(self, user: BaseUser) -> None:
        self.user = user
        self._answers: dict[tuple[str, str] | str, bool] = {}

    @property
    def name(self) -> str:
        return self.user.get_name()

    def may(self, method: Method, dag_id: str) -> bool:
        """Whether the user may read (GET) or change (PUT) the runs of ``dag_id``."""
        key = (method, dag_id)
        if key not in self._answers:
            from airflow.api_fastapi.app import get_auth_manager
            from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails
            from airflow.models.dag import DagModel

            details = DagDetails(id=dag_id, team_name=DagModel.get_team_name(dag_id))
            self._answers[key] = get_auth_manager().is_authorized_dag(
                method=method, access_entity=DagAccessEntity.RUN, details=details, user=self.user)
        return self._answers[key]

    def may_read(self, config_name: str) -> bool:
        return self.may("GET", dag_id_for(config_name))

    def may_resolve(self, config_name: str) -> bool:
        return self.may("PUT", dag_id_for(config_name))

    def may_erase(self) -> bool:
        """Whether the user may erase a person's data (edit rights on Airflow's configuration)."""
        if "erase" not in self._answers:
            from airflow.api_fastapi.app import get_auth_manager

            self._answers["erase"] = get_auth_manager().is_authorized_configuration(method="PUT", user=self.user)
        return self._answers["erase"]

    def readable(self, config_names: Iterable[str]) -> set[str]:
        return {name for name in config_names if self.may_read(name)}

    def configs_to_show(self, requested: str | None, on_record: Iterable[str]) -> set[str]:
        """The configs a page may show: the one asked for (403 if not readable), else every readable one.

        A user who may read none of the campaign DAGs on record gets 403 rather than an empty page.
        """
        if requested:
            self.require("GET", dag_id_for(requested), f"read the runs of DAG {dag_id_for(requested)}")
            return {requested}
        on_record = set(on_record)
        readable = self.readable(on_record)
        if on_record and not readable:
            raise forbidden(f"{self.name} may not read the runs of any campaign DAG")
        return readable

    def require(self, method: Method, dag_id: str, what: str) -> None:
        if not self.may(method, dag_id):
            raise forbidden(f"{self.name} may not {what}")


def forbidden(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_403_FORBIDDEN, detail=detail)
