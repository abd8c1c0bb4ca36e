"""A DAG run's configuration holds only the DAG's own params: anything else is refused before work starts.

Airflow accepts any key in a run's conf and ignores the ones no Param declares. Here that would be
dangerous: ``{"dry_run": true}`` sent to a campaign DAG (which has no dry run) would be ignored and
the run would send; a misspelt ``run_dat`` would silently build today's list.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from airflow.sdk.exceptions import AirflowFailException

PREVIEW_HINT = "Campaign DAGs have no dry run: to look at a list without sending, trigger vbot_preview. "


def refuse_unknown_conf(conf: Mapping[str, Any] | None, known: Iterable[str], *, hint: str = "") -> None:
    """Fail the task (no retry) when ``conf`` has a key outside ``known``, the names the DAG declares.

    ``known`` must come from the DAG's definition: the run's own params already hold every conf key.
    """
    unknown = sorted(set(conf or {}) - set(known))
    if unknown:
        raise AirflowFailException(
            f"The run's configuration has key(s) this DAG does not know: {', '.join(unknown)}; it takes "
            f"{', '.join(sorted(known)) or 'none'}. {hint}Nothing was built or sent.")
