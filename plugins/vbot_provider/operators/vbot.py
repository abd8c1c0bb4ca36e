"""Create VBot campaigns exactly once, through the ``campaign_run`` outbox.

``create_campaign_once`` is the TaskFlow-friendly function; ``VBotCreateCampaignOperator`` wraps it
for classic DAGs. Both fail fast (no Airflow retry) where a retry cannot help or could duplicate.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException
from sqlalchemy.engine import Engine

from vbot_provider.exceptions import VBotAmbiguousError, VBotError, VBotPermanentError
from vbot_provider.hooks.vbot import SendProgress, VBotHook
from vbotflow.campaigns import outbox
from vbotflow.vbot.api import payload_sha256

log = logging.getLogger(__name__)


def create_campaign_once(
    *,
    hook: VBotHook,
    engine: Engine,
    config_name: str,
    run_date: date,
    chunk_number: int,
    template_id: int,
    campaign_name: str,
    contacts: Sequence[Mapping[str, object]],
    group_code: str | None = None,
    before_send: Callable[[], None] | None = None,
) -> int:
    """Create one chunk's campaign unless the outbox says it exists; returns the VBot campaign id.

    ``before_send`` runs only when the chunk would really be sent, and may refuse by raising (the
    calling window: a created chunk returns its id at any hour, a chunk to send needs the window).
    """
    if not contacts:
        # Every contact of this chunk was erased on request before it was sent: there is no one to call.
        raise AirflowSkipException(f"campaign run {outbox.make_run_key(config_name, run_date, chunk_number)} has "
                                   "no contacts left (erased on request before it was sent); nothing was sent")
    body = hook.build_create_body(template_id, campaign_name, contacts, group_code=group_code)
    spec = outbox.ChunkSpec(
        config_name=config_name,
        run_date=run_date,
        chunk_number=chunk_number,
        template_id=template_id,
        campaign_name=campaign_name,
        phone_count=len(contacts),
        payload_sha256=payload_sha256(body),
    )
    try:
        existing = outbox.created_campaign_id(engine, spec)
        if existing is None and before_send is not None:
            before_send()  # may refuse: the row is left as it was, nothing is sent
        if existing is None:
            existing = outbox.claim_for_send(engine, spec)
    except outbox.OutboxError as err:
        raise AirflowFailException(str(err)) from err
    if existing is not None:
        log.info("Campaign run %s was created before as VBot campaign %s; sending nothing", spec.run_key, existing)
        return existing

    progress = SendProgress()
    try:
        campaign_id = hook.send_create_body(body, progress)
    except VBotAmbiguousError as err:
        outbox.mark_ambiguous(engine, spec.run_key, str(err))
        raise AirflowFailException(
            f"{err}. Campaign run {spec.run_key} is now ambiguous and will not be re-sent; check VBot for "
            f"campaign {campaign_name!r}, then run: {outbox.RESOLVE_HINT.format(run_key=spec.run_key)}"
        ) from err
    except VBotPermanentError as err:
        outbox.mark_failed(engine, spec.run_key, err.error_code, str(err))
        raise AirflowFailException(f"campaign run {spec.run_key}: {err}") from err
    except VBotError as err:
        outbox.mark_failed(engine, spec.run_key, err.error_code, str(err))
        raise
    except BaseException as err:
        # No answer and no VBot error: Ctrl-C, a worker shutdown (SystemExit), Airflow's execution
        # timeout, a bug. Only what came while the body may have been on its way can have created a
        # campaign; before that (the token grant, a backoff) nothing left and the run stays sendable.
        # Either way the interruption goes on as it came.
        if progress.body_may_have_left:
            outbox.mark_ambiguous(engine, spec.run_key, f"interrupted while sending: {type(err).__name__}")
        else:
            outbox.mark_failed(engine, spec.run_key, None,
                               f"interrupted before the body was sent: {type(err).__name__}")
        raise
    outbox.mark_created(engine, spec.run_key, campaign_id)
    return campaign_id


@dataclass(frozen=True)
class ChunkToCreate:
    """One chunk of a create task's group: what ``create_campaign_once`` needs besides the day's settings.

    Its contacts are read when its turn comes, right before its create: a person erased while the
    group's earlier chunks were being sent is not in the body.
    """

    chunk_number: int
    campaign_name: str
    read_contacts: Callable[[], Sequence[Mapping[str, object]]]


class ChunksNotCreatedError(VBotError):
    """Some chunks of a group met a transient error: the task's retry sends them (and only them)."""


def create_campaigns_once(
    *,
    hook: VBotHook,
    engine: Engine,
    config_name: str,
    run_date: date,
    template_id: int,
    chunks: Sequence[ChunkToCreate],
    group_code: str | None = None,
    before_send: Callable[[], None] | None = None,
) -> list[int]:
    """``create_campaign_once`` for each chunk of a group, in order; returns the campaign ids created or found.

    A chunk that fails does not stop the others: each has its own ``campaign_run`` row, so what one
    chunk's failure says (ambiguous, refused by VBot, outside the window) holds for that chunk only.
    After the last chunk the task fails with every failure listed: without an Airflow retry when none
    of them could be mended by one, else with one, which sends only what is still unsent (the created
    chunks return their ids from the outbox). An interruption (a worker shutdown, Ctrl-C, a timeout)
    stops the group at once, as it stops a single create.
    """
    def create(chunk: ChunkToCreate) -> int:
        return create_campaign_once(
            hook=hook, engine=engine, config_name=config_name, run_date=run_date, chunk_number=chunk.chunk_number,
            template_id=template_id, campaign_name=chunk.campaign_name, contacts=chunk.read_contacts(),
            group_code=group_code, before_send=before_send)

    if len(chunks) == 1:  # a task per campaign: its own error, as it came
        return [create(chunks[0])]
    ids: list[int] = []
    skipped = 0
    final: list[str] = []
    transient: list[str] = []
    for chunk in chunks:
        key = outbox.make_run_key(config_name, run_date, chunk.chunk_number)
        try:
            ids.append(create(chunk))
        except AirflowSkipException as err:
            skipped += 1
            log.info("Skipped: %s", err)
        except AirflowFailException as err:
            final.append(f"{key}: {err}")
            log.warning("Campaign run %s not created, and a retry would not help: %s", key, err)
        except Exception as err:  # noqa: BLE001 - every other chunk still deserves its try
            transient.append(f"{key}: {type(err).__name__}: {err}")
            log.warning("Campaign run %s not created for now (%s: %s); going on with the group", key,
                        type(err).__name__, err)
    if not final and not transient:
        if not ids:
            raise AirflowSkipException(f"none of the {len(chunks)} campaign(s) had contacts left; nothing was sent")
        return ids
    # One line per chunk not created, each starting with its run key (the alert reads them).
    summary = (f"{len(final) + len(transient)} of {len(chunks)} campaign(s) not created ({len(ids)} created or "
               f"found created, {skipped} skipped):\n" + "\n".join(f"- {m}" for m in final + transient))
    if transient:
        raise ChunksNotCreatedError(summary + "\nA retry sends only the campaigns not created.")
    raise AirflowFailException(summary)


class VBotCreateCampaignOperator(BaseOperator):
    """Create one VBot campaign from a template for one chunk of contacts, exactly once.

    :param config_name: campaign config the chunk belongs to (part of the run key)
    :param chunk_number: chunk of the day's list (part of the run key)
    :param template_id: VBot template campaign to copy
    :param campaign_name: name of the new campaign
    :param contacts: list of mappings of VBot keys to values
    :param run_date: the run's date (default: the DAG run's logical date — or, without one, the time
        it was due — as a Vietnam calendar day, the rule of the campaign DAGs)
    """

    template_fields = ("config_name", "campaign_name", "contacts", "run_date", "template_id")

    def __init__(
        self,
        *,
        config_name: str,
        chunk_number: int,
        template_id: int | str,
        campaign_name: str,
        contacts: Sequence[Mapping[str, object]] | str,
        run_date: date | str | None = None,
        vbot_conn_id: str = VBotHook.default_conn_name,
        db_conn_id: str = "vbotflow_db",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.config_name = config_name
        self.chunk_number = chunk_number
        self.template_id = template_id
        self.campaign_name = campaign_name
        self.contacts = contacts
        self.run_date = run_date
        self.vbot_conn_id = vbot_conn_id
        self.db_conn_id = db_conn_id

    def execute(self, context: Any) -> int:
        from vbot_provider.connections import integration_db_url
        from vbot_provider.runs import campaign_run_date
        from vbotflow.store.db import make_engine

        run_date = campaign_run_date(context, self.run_date)
        engine = make_engine(integration_db_url(self.db_conn_id))
        try:
            return create_campaign_once(
                hook=VBotHook(vbot_conn_id=self.vbot_conn_id),
                engine=engine,
                config_name=self.config_name,
                run_date=run_date,
                chunk_number=self.chunk_number,
                template_id=int(self.template_id),
                campaign_name=self.campaign_name,
                contacts=self.contacts,  # type: ignore[arg-type]
            )
        finally:
            engine.dispose()
