"""Wait for the legal calling window without holding a worker slot (deferrable)."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from airflow.providers.standard.triggers.temporal import DateTimeTrigger
from airflow.sdk import BaseSensorOperator
from airflow.sdk.exceptions import AirflowFailException

from vbotflow.campaigns.window import window_state
from vbotflow.vbot.timestamps import VIETNAM


class CallingWindowSensor(BaseSensorOperator):
    """Succeed inside the window of ``run_date``; defer until it opens; once it has closed, fail —
    unless every chunk of the day was created already (a rerun): then nothing is left to send.

    :param run_date: the day (Vietnam calendar), ISO string or date; templated
    :param window_start: opening time, Vietnam time
    :param window_end: closing time, Vietnam time
    :param config_name: the campaign config whose ``campaign_run`` rows say what is left to send;
        without it a closed window always fails
    :param db_conn_id: the integration DB connection
    """

    template_fields = ("run_date",)

    def __init__(self, *, run_date: str | date, window_start: time, window_end: time,
                 config_name: str | None = None, db_conn_id: str = "vbotflow_db", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.run_date = run_date
        self.window_start = window_start
        self.window_end = window_end
        self.config_name = config_name
        self.db_conn_id = db_conn_id

    def _unsent_chunks(self, run_date: date) -> int | None:
        if not self.config_name:
            return None
        from vbot_provider.connections import integration_engine
        from vbotflow.campaigns.outbox import unsent_chunks

        with integration_engine(self.db_conn_id) as db:
            return unsent_chunks(db, self.config_name, run_date)

    def execute(self, context: Any) -> None:
        run_date = self.run_date if isinstance(self.run_date, date) else date.fromisoformat(str(self.run_date))
        state = window_state(datetime.now(VIETNAM), run_date, self.window_start, self.window_end)
        if state.kind == "closed":
            unsent = self._unsent_chunks(run_date)
            if unsent == 0:
                self.log.info("The calling window of %s has passed, but every chunk of %s was created already: "
                              "nothing is left to send", run_date, self.config_name)
                return
            if unsent:
                raise AirflowFailException(f"{state.message} ({unsent} chunk(s) of {self.config_name} not sent)")
            raise AirflowFailException(state.message)
        if state.kind == "wait":
            self.log.info("%s: deferring until %s", state.message, state.opens_at.isoformat())
            self.defer(trigger=DateTimeTrigger(moment=state.opens_at), method_name="execute_complete")
        self.log.info("%s", state.message)

    def execute_complete(self, context: Any, event: Any = None) -> None:
        """Back from the trigger: look again (the window may have closed while the task waited)."""
        self.execute(context)


def fail_unless_window_open(run_date: date, window_start: time, window_end: time) -> None:
    """Right before a create: VBot dials at once, so outside the window nothing may be created."""
    state = window_state(datetime.now(VIETNAM), run_date, window_start, window_end)
    if state.kind != "open":
        raise AirflowFailException(f"not creating the campaign: {state.message}")
