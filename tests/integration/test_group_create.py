"""A create task's group of chunks: each chunk exactly once through its own outbox row, over real HTTP.

On a day of more campaigns than ``max_create_tasks`` a create task sends a group of consecutive
chunks (``create_campaigns_once``). One chunk's failure must not stop the others nor hide among them.
"""

from __future__ import annotations

from datetime import date

import pytest
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from tests.integration.vbot_http import set_vbot_connection
from vbot_provider.hooks.vbot import VBotHook
from vbot_provider.operators.vbot import ChunksNotCreatedError, ChunkToCreate, create_campaigns_once
from vbotflow.alerting import RESOLVE_COMMAND, FailureFacts, compose_alert
from vbotflow.campaigns import outbox
from vbotflow.vbot.api import payload_sha256

CREATE = "/api/campaign/create"
DAY = date(2026, 11, 26)


def _chunk(n: int, people: int = 2) -> ChunkToCreate:
    contacts = [{"phone": f"09{n:02d}{i:06d}", "name": f"Khách {n}-{i}"} for i in range(people)]
    return ChunkToCreate(n, f"nhac_no_20261126_{n}", lambda: contacts)


def _key(n: int) -> str:
    return f"nhac_no/2026-11-26/{n:03d}"


@pytest.fixture
def hook(monkeypatch, vbot) -> VBotHook:
    conn_id = set_vbot_connection(monkeypatch, vbot.url_for("").rstrip("/"), timeout_seconds=0.3)
    return VBotHook(conn_id, max_retries=1, backoff_seconds=0.01)


def _send(hook, engine, chunks, before_send=None) -> list[int]:
    return create_campaigns_once(hook=hook, engine=engine, config_name="nhac_no", run_date=DAY, template_id=2932,
                                 chunks=chunks, before_send=before_send)


def _answer(vbot, *answers: dict | int) -> None:
    """VBot's answers to the next creates, in order: a campaign id, or a JSON body; HTTP 500 for 500."""
    for answer in answers:
        request = vbot.expect_ordered_request(CREATE)
        if answer == 500:
            request.respond_with_data("", status=500)
        elif isinstance(answer, int):
            request.respond_with_json({"status": 1, "error": 0, "msg": "success", "data": answer})
        else:
            request.respond_with_json(answer)


def _posted_names(vbot) -> list[str]:
    return [req.get_json()["name"] for req, _ in vbot.log if req.path == CREATE]


def _states(engine, chunks) -> list[tuple[str, int | None]]:
    rows = [outbox.get_run(engine, _key(c.chunk_number)) for c in chunks]
    return [(r["state"], r["vbot_campaign_id"]) for r in rows]


def test_a_group_creates_each_chunk_once_in_order_and_a_rerun_sends_nothing(hook, engine, vbot) -> None:
    chunks = [_chunk(1), _chunk(2), _chunk(3)]
    _answer(vbot, 601, 602, 603)
    assert _send(hook, engine, chunks) == [601, 602, 603]
    assert _send(hook, engine, chunks) == [601, 602, 603]  # the rerun finds every chunk created
    assert _posted_names(vbot) == ["nhac_no_20261126_1", "nhac_no_20261126_2", "nhac_no_20261126_3"]
    assert _states(engine, chunks) == [("created", 601), ("created", 602), ("created", 603)]
    sent = [req.get_json() for req, _ in vbot.log if req.path == CREATE]
    assert [len(body["phones"]) for body in sent] == [2, 2, 2]
    rows = [outbox.get_run(engine, _key(n)) for n in (1, 2, 3)]
    assert [r["payload_sha256"] for r in rows] == [payload_sha256(body) for body in sent]


def test_each_chunk_reads_its_contacts_when_its_turn_comes(hook, engine, vbot) -> None:
    posted_before_read: list[int] = []

    def reader(n: int):
        def read() -> list[dict]:
            posted_before_read.append(len(_posted_names(vbot)))  # an erasure until now is seen
            return _chunk(n).read_contacts()
        return read

    _answer(vbot, 661, 662, 663)
    assert _send(hook, engine, [ChunkToCreate(n, f"nhac_no_20261126_{n}", reader(n)) for n in (1, 2, 3)]) == [
        661, 662, 663]
    assert posted_before_read == [0, 1, 2]


def test_a_refused_chunk_does_not_stop_the_others_and_fails_the_task_without_retry(hook, engine, vbot) -> None:
    chunks = [_chunk(1), _chunk(2), _chunk(3)]
    _answer(vbot, 611, {"status": 0, "error": 201, "msg": "Tham số không hợp lệ"}, 613)
    with pytest.raises(AirflowFailException) as failed:
        _send(hook, engine, chunks)
    lines = str(failed.value).splitlines()
    assert lines[0] == "1 of 3 campaign(s) not created (2 created or found created, 0 skipped):"
    assert len(lines) == 2 and lines[1].startswith(f"- {_key(2)}: campaign run {_key(2)}: ")
    assert "error 201" in lines[1]
    assert _states(engine, chunks) == [("created", 611), ("failed", None), ("created", 613)]
    assert len(_posted_names(vbot)) == 3


def test_a_transient_failure_is_retried_for_that_chunk_only(hook, engine, vbot) -> None:
    chunks = [_chunk(1), _chunk(2), _chunk(3)]
    _answer(vbot, 621, 500, 500, 623)  # chunk 2: both of the hook's tries get HTTP 500
    with pytest.raises(ChunksNotCreatedError) as failed:
        _send(hook, engine, chunks)
    message = str(failed.value)
    assert message.startswith("1 of 3 campaign(s) not created (2 created or found created, 0 skipped):\n"
                              f"- {_key(2)}: VBotTransientError: ")
    assert message.endswith("\nA retry sends only the campaigns not created.")
    assert _states(engine, chunks) == [("created", 621), ("failed", None), ("created", 623)]

    _answer(vbot, 622)  # the task's retry
    assert _send(hook, engine, chunks) == [621, 622, 623]
    assert _posted_names(vbot).count("nhac_no_20261126_2") == 3 and len(_posted_names(vbot)) == 5
    assert [outbox.get_run(engine, _key(n))["attempts"] for n in (1, 2, 3)] == [1, 2, 1]


def test_a_chunk_that_may_exist_is_not_resent_and_the_alert_names_only_its_resolve(hook, engine, vbot) -> None:
    chunks = [_chunk(1), _chunk(2), _chunk(3), _chunk(4)]
    # Chunk 2 was taken by a worker that died mid-POST; chunk 4 will be refused by VBot.
    dead = outbox.ChunkSpec("nhac_no", DAY, 2, 2932, "nhac_no_20261126_2", 2, payload_sha256(
        hook.build_create_body(2932, "nhac_no_20261126_2", chunks[1].read_contacts())))
    assert outbox.claim_for_send(engine, dead) is None
    _answer(vbot, 631, 633, {"status": 0, "error": 201, "msg": "bad"})
    with pytest.raises(AirflowFailException) as failed:
        _send(hook, engine, chunks)
    error = str(failed.value)
    assert error.splitlines()[0] == "2 of 4 campaign(s) not created (2 created or found created, 0 skipped):"
    assert f"- {_key(2)}: campaign run {_key(2)} is sending" in error
    assert _posted_names(vbot) == ["nhac_no_20261126_1", "nhac_no_20261126_3", "nhac_no_20261126_4"]
    assert _states(engine, chunks) == [("created", 631), ("sending", None), ("created", 633), ("failed", None)]

    alert = compose_alert(FailureFacts(
        dag_id="vbot_campaign__nhac_no", task_id="create_campaign", run_id="manual__x", error=error,
        error_type="AirflowFailException", map_index=0, config="nhac_no", day=DAY.isoformat()))
    assert alert.run_keys == [_key(2), _key(4)]
    resolves = [a for a in alert.actions if a.startswith("Then run: ")]
    assert resolves == [f"Then run: {RESOLVE_COMMAND.format(run_key=_key(2))}"]
    assert "The 1 other campaign(s) the error names were not created: fix what their lines say." in alert.actions
    assert alert.error.splitlines()[1:] == [f"- {_key(2)}: campaign run {_key(2)} is sending: an earlier attempt sent "
                                            "campaign 'nhac_no_20261126_2' and its outcome is unknown, so nothing was "
                                            "sent again. Check VBot for that campaign name, then run: "
                                            + outbox.RESOLVE_HINT.format(run_key=_key(2)),
                                            f"- {_key(4)}: campaign run {_key(4)}: VBot rejected the campaign (error "
                                            "201, invalid parameters): HTTP 200, 'bad'"]


def test_erased_chunks_are_skipped_and_the_rest_created(hook, engine, vbot) -> None:
    erased = ChunkToCreate(2, "nhac_no_20261126_2", lambda: [])
    _answer(vbot, 641, 643)
    assert _send(hook, engine, [_chunk(1), erased, _chunk(3)]) == [641, 643]
    assert outbox.get_run(engine, _key(2)) is None  # nothing taken, nothing sent
    with pytest.raises(AirflowSkipException, match="none of the 2 campaign"):
        _send(hook, engine, [ChunkToCreate(5, "nhac_no_20261126_5", lambda: []),
                             ChunkToCreate(6, "nhac_no_20261126_6", lambda: [])])
    assert len(_posted_names(vbot)) == 2


def test_an_interruption_stops_the_group_at_once(hook, engine, vbot) -> None:
    asked: list[int] = []

    def shutdown_on_the_second() -> None:
        asked.append(1)
        if len(asked) == 2:
            raise KeyboardInterrupt

    _answer(vbot, 651)
    chunks = [_chunk(1), _chunk(2), _chunk(3)]
    with pytest.raises(KeyboardInterrupt):
        _send(hook, engine, chunks, before_send=shutdown_on_the_second)
    assert _posted_names(vbot) == ["nhac_no_20261126_1"]
    assert outbox.get_run(engine, _key(1))["state"] == "created"
    assert outbox.get_run(engine, _key(2)) is None and outbox.get_run(engine, _key(3)) is None


def test_a_group_of_one_fails_with_its_own_error(hook, engine, vbot) -> None:
    _answer(vbot, {"status": 0, "error": 201, "msg": "bad"})
    with pytest.raises(AirflowFailException, match=rf"^campaign run {_key(1)}: .*error 201"):
        _send(hook, engine, [_chunk(1)])
