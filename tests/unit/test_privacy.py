"""Personal data, the pure parts: masking, previews, pseudonyms, spellings of a number, de-identified bodies."""

from __future__ import annotations

import fcntl
import json
import os
from datetime import UTC, datetime

import pandas as pd
import pytest

from vbotflow.campaigns.config import CAMPAIGNS_DIR, load_config
from vbotflow.campaigns.list_store import plan_chunks
from vbotflow.campaigns.preview import CLEAR_NOTE, MASKED_NOTE, masked_body, write_preview
from vbotflow.campaigns.transform import transform
from vbotflow.privacy.deidentify import (
    ERASED,
    RETENTION_BODY_NOTE,
    EveryonePolicy,
    PersonPolicy,
    deidentify_body,
    deidentify_create_body,
)
from vbotflow.privacy.masking import mask_phone, mask_phones_in_text, mask_text
from vbotflow.privacy.matching import PhoneFinder, national_forms
from vbotflow.privacy.pseudonyms import (
    PrivacyKeyError,
    Pseudonymiser,
    canonical_phone,
    is_contact_pseudonym,
    is_phone_pseudonym,
    key_from_env,
)
from vbotflow.receiver.delivery import Delivery
from vbotflow.receiver.parse import parse_delivery
from vbotflow.receiver.spool import LOCK_NAME, Spool
from vbotflow.vbot.api import build_create_body

PS = Pseudonymiser(b"unit-test-key-0123456789")
PHONE = "0329876543"
SPELLINGS = ["0329876543", "0329 876 543", "032.987.6543", "(032) 987-6543", "+84 32 987 6543", "+84329876543",
             "84329876543", "0084329876543", "329876543", "+84 (0) 32 987 6543", "01629876543", "0162 987 6543"]


@pytest.mark.parametrize(
    ("phone", "masked"),
    [("0912345678", "09******78"), ("+84 912 345 678", "84*******78"), ("1234", "****"), (None, ""), ("", "")],
)
def test_mask_phone_keeps_two_digits_each_end(phone, masked) -> None:
    assert mask_phone(phone) == masked


def test_phones_inside_text_are_masked_and_other_numbers_kept() -> None:
    text = "số 0912345678 và +84 987.654.321 lỗi 201 lúc 2026"
    assert mask_phones_in_text(text) == "số 09******78 và 84*******21 lỗi 201 lúc 2026"


@pytest.mark.parametrize(("value", "masked"), [
    ("Nguyễn Văn An", "N***** V** A*"), ("1500000", "*******"), ("2026-12-01", "****-**-**"),
    ("Hà Nội - Cầu Giấy", "H* N** - C** G***"), ("2026-11-29 09:15", "****-**-** **:**"), (None, ""),
])
def test_names_and_custom_values_are_masked_to_their_shape(value, masked) -> None:
    assert mask_text(value) == masked


def _result():
    config = load_config(CAMPAIGNS_DIR / "payment_reminder.yaml")
    raw = pd.DataFrame({
        "customer_id": [1, 2, 3], "full_name": ["Nguyễn Văn An", "Lê Thị Hoa", "Phạm Minh"],
        "phone": ["0912 345 678", "+84 987 654 321", "không có"], "is_dnc": [0, 0, 0],
        "updated_at": ["2026-11-20"] * 3, "invoice_id": [1, 2, 3], "amount_due": [1500000, 230000, 1],
        "due_date": ["2026-12-01"] * 3,
    })
    result = transform(raw, config)
    bodies = {n: build_create_body(vbot_id="1", group_code="G", template_id=2932, name=f"c{n}", contacts=c)
              for n, c in plan_chunks(config, result).items()}
    return result, bodies


def test_a_preview_masks_names_and_custom_fields_and_says_so(tmp_path) -> None:
    result, bodies = _result()
    write_preview(tmp_path, result, bodies)
    text = "".join(p.read_text(encoding="utf-8") for p in tmp_path.iterdir())
    for clear in ("Nguyễn Văn An", "Lê Thị Hoa", "1500000", "230000", "2026-12-01", "0912345678", "987654321"):
        assert clear not in text
    assert json.loads((tmp_path / "counts.json").read_text())["personal_data"] == MASKED_NOTE
    payload = json.loads((tmp_path / "payload_chunk_001.json").read_text())
    assert payload["_personal_data"] == MASKED_NOTE
    fields = [{f["key"]: f["value"] for f in c["fields"]} for c in payload["phones"]]
    assert fields[0] == {"phone": "09******78", "name": "N***** V** A*", "numberCall": "2", "amount": "*******",
                         "due_date": "****-**-**"}


def test_a_preview_in_clear_only_when_asked_and_says_so(tmp_path) -> None:
    result, bodies = _result()
    write_preview(tmp_path, result, bodies, mask=False)
    assert json.loads((tmp_path / "counts.json").read_text())["personal_data"] == CLEAR_NOTE
    payload = json.loads((tmp_path / "payload_chunk_001.json").read_text())
    assert payload["_personal_data"] == CLEAR_NOTE and "Nguyễn Văn An" in json.dumps(payload, ensure_ascii=False)
    assert masked_body(bodies[1])["phones"][0]["fields"][1] == {"key": "name", "value": "N***** V** A*"}


def test_the_key_comes_from_the_environment_and_its_absence_is_explained() -> None:
    with pytest.raises(PrivacyKeyError, match=r"VBOTFLOW_PRIVACY_KEY is not set\..*Nothing was changed\."):
        key_from_env({})
    with pytest.raises(PrivacyKeyError, match="shorter than 16 characters"):
        key_from_env({"VBOTFLOW_PRIVACY_KEY": "short"})
    assert key_from_env({"VBOTFLOW_PRIVACY_KEY": " a-long-enough-secret \n"}) == b"a-long-enough-secret"
    assert "unit-test-key" not in repr(PS)


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_every_spelling_of_a_number_has_one_pseudonym(spelling) -> None:
    assert canonical_phone(spelling) == PHONE
    assert PS.phone(spelling) == PS.phone(PHONE)


def test_a_pseudonym_is_never_a_number_and_depends_on_the_key() -> None:
    pseudonym = PS.phone(PHONE)
    assert is_phone_pseudonym(pseudonym) and len(pseudonym) == 16 and pseudonym.isdigit()
    assert canonical_phone(pseudonym) is None and int(pseudonym) > 10**12  # above every 10-digit number
    assert PS.phone(pseudonym) == pseudonym  # de-identifying again changes nothing
    assert Pseudonymiser(b"another-key-0123456789").phone(PHONE) != pseudonym
    assert PS.phone("0987654321") != pseudonym
    assert PS.phone("84241234567") == PS.phone("0241234567")  # non-mobiles: as reconciliation reads the digits
    assert is_contact_pseudonym(PS.contact_id("5001")) and PS.contact_id("5001") != PS.contact_id("5002")
    assert PS.phone_subject("+84 32 987 6543") == PS.phone_subject(PHONE) != PS.subject_hash(PHONE)


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_the_finder_sees_every_spelling(spelling) -> None:
    finder = PhoneFinder([PHONE])
    assert finder.found_in(f"gọi {spelling}, cảm ơn") and finder.found_in(f"x{spelling}".encode())
    assert finder.sub(lambda _: "#", f"a {spelling} b") == "a # b"


@pytest.mark.parametrize("spelling", ["0329\u00a0876\u00a0543", "0329\u2013876\u2013543", "+84\u202f329\u200b876543"])
def test_the_finder_sees_the_unicode_separators_the_phone_rules_know(spelling) -> None:
    # A CRM export's no-break spaces and dashes: the list reads them as separators, so erasure must too.
    assert canonical_phone(spelling) == PHONE
    assert PhoneFinder([PHONE]).found_in(f"ghi chú: {spelling}.")


@pytest.mark.parametrize("text", ["10329876543", "03298765431", "0329876544", "1329876543", "032987654"])
def test_the_finder_ignores_other_numbers(text) -> None:
    assert not PhoneFinder([PHONE]).found_in(text)


def test_national_forms_include_the_number_before_2018() -> None:
    assert national_forms(PHONE) == ["329876543", "1629876543"]
    assert national_forms("0912345678") == ["912345678"]
    with pytest.raises(ValueError, match="normalised domestic number"):
        national_forms("+84912345678")


def _autocall(phone: str = "84329876543", **extra) -> bytes:
    body = {"campaign_id": 7, "create_at": "11/26/2026 09:15:00", "hotline": "02471000000", "phone": phone,
            "name": "Trần Thị Bích Ngọc", "description": "gọi lại 0162 987 6543", "status": 200, "time_call": 35,
            "postage": 770.0, "service_charge": 300.0, "action_log": "1#", "event_data": "autocall", **extra}
    return json.dumps(body).encode()


def test_an_erased_autocall_body_reads_the_same_to_reconciliation() -> None:
    policy = PersonPolicy([PHONE], ["Trần Thị Bích Ngọc"], PS)
    new = deidentify_body(_autocall(), policy)
    before, after = parse_delivery(_autocall(), "auto"), parse_delivery(new, "auto")
    assert after.columns.pop("phone") == PS.phone(PHONE) and before.columns.pop("phone") == "84329876543"
    assert after.columns.pop("action_log") is None
    before.columns.pop("action_log")
    assert after.columns == before.columns and after.kind == "autocall"
    document = json.loads(new)
    assert (document["name"], document["description"]) == (None, None)
    assert not PhoneFinder([PHONE]).found_in(new) and b"Ng\\u1ecdc" not in new and "Ngọc" not in new.decode()


def test_an_erasure_leaves_other_people_alone() -> None:
    policy = PersonPolicy([PHONE], ["Trần Thị Bích Ngọc"], PS)
    assert deidentify_body(_autocall("0912345678", description="", name="Nguyễn Văn An"), policy) is None
    history = {"status": "1", "data": [
        {"callee": ["0912345678", "0162 987 6543"], "caller": "02471000000", "disposition": "ANSWER",
         "date_create": "11/26/2026 10:00:00", "record_file": "https://rec/1.mp3", "source": "autocall:7"},
        {"callee": "0987654321", "caller": "02471000000", "disposition": "BUSY", "date_create": "11/26/2026 10:01:00",
         "record_file": "https://rec/2.mp3", "message": "khách Trần Thị Bích Ngọc"}]}
    new = json.loads(deidentify_body(json.dumps(history).encode(), policy))
    assert new["data"][0]["callee"] == ["0912345678", PS.phone(PHONE)] and new["data"][0]["record_file"] is None
    assert new["data"][0]["source"] == "autocall:7" and new["data"][0]["disposition"] == "ANSWER"
    assert new["data"][1]["record_file"] == "https://rec/2.mp3" and new["data"][1]["message"] == f"khách {ERASED}"


def test_a_body_that_is_not_json_is_searched_as_text_or_dropped_by_retention() -> None:
    raw = "cut short {\"phone\": \"+84 32 987 6543\", \"name\": \"Trần Thị Bích Ngọc\"".encode() + b"\xff"
    erased = deidentify_body(raw, PersonPolicy([PHONE], ["Trần Thị Bích Ngọc"], PS))
    assert erased == ("cut short {\"phone\": \"" + PS.phone(PHONE) + f"\", \"name\": \"{ERASED}\"").encode() + b"\xff"
    assert deidentify_body(raw, EveryonePolicy(PS)) == RETENTION_BODY_NOTE


def test_retention_pseudonymises_every_phone_field_but_not_times_or_hotlines() -> None:
    new = deidentify_body(_autocall("0912345678"), EveryonePolicy(PS))
    document = json.loads(new)
    assert document["phone"] == PS.phone("0912345678") and document["hotline"] == "02471000000"
    assert document["create_at"] == "11/26/2026 09:15:00" and document["name"] is None


def test_a_preview_payload_keeps_only_the_pseudonym_of_an_erased_contact() -> None:
    body = build_create_body(vbot_id="1", group_code="G", template_id=2932, name="c", contacts=[
        {"phone": PHONE, "name": "Trần Thị Bích Ngọc", "amount": "4321000", "numberCall": "2"},
        {"phone": "0912345678", "name": "Nguyễn Văn An", "amount": "1"}])
    new = deidentify_create_body(body, PersonPolicy([PHONE], ["Trần Thị Bích Ngọc"], PS))
    assert new["phones"][0]["fields"] == [{"key": "phone", "value": PS.phone(PHONE)},
                                          {"key": "numberCall", "value": "2"}]
    assert new["phones"][1] == body["phones"][1]


def test_the_spool_is_rewritten_in_place_under_the_drain_lock(tmp_path) -> None:
    spool = Spool(tmp_path)
    moment = datetime(2026, 11, 26, 2, tzinfo=UTC)
    theirs = spool.append(Delivery(moment, "autocall", _autocall(), {}, None))
    someone_else = _autocall("0912345678", description="", name="Nguyễn Văn An")
    others = spool.append(Delivery(moment, "autocall", someone_else, {}, None))
    policy = PersonPolicy([PHONE], ["Trần Thị Bích Ngọc"], PS)

    def edit(delivery: Delivery) -> Delivery | None:
        body = deidentify_body(delivery.body, policy)
        return None if body is None else Delivery(delivery.received_at, delivery.endpoint, body, {}, None)

    untouched = others.read_bytes()
    fd = os.open(tmp_path / LOCK_NAME, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)  # a drain in progress
    with pytest.raises(TimeoutError, match="was being drained for 0 s; try again"):
        spool.rewrite(edit, wait_seconds=0.2)
    os.close(fd)
    assert spool.rewrite(edit) == [theirs]
    assert others.read_bytes() == untouched and oct(theirs.stat().st_mode)[-3:] == "600"
    replayed = Delivery.from_json(theirs.read_text())
    assert parse_delivery(replayed.body, "autocall").columns["phone"] == PS.phone(PHONE)
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == sorted([theirs.name,
                                                                                                 others.name])


def test_a_database_error_names_no_one(tmp_path) -> None:
    import sqlalchemy as sa

    from vbotflow.store import db
    from vbotflow.store.tables import suppression

    url = f"sqlite:///{tmp_path / 'x.db'}"
    db.upgrade(url)
    engine = db.make_engine(url)
    row = {"phone": PHONE, "reason": "Trần Thị Bích Ngọc", "created_at": datetime.now(UTC)}
    with engine.begin() as conn:
        conn.execute(suppression.insert(), [row])
    with pytest.raises(sa.exc.IntegrityError) as caught, engine.begin() as conn:
        conn.execute(suppression.insert(), [row])  # the same phone again: the error quotes no value
    engine.dispose()
    assert "UNIQUE constraint failed: suppression.phone" in str(caught.value)
    assert PHONE not in str(caught.value) and "Ngọc" not in str(caught.value)


def test_a_chunk_whose_every_contact_was_erased_is_skipped_and_nothing_is_sent() -> None:
    from datetime import date

    from airflow.sdk.exceptions import AirflowSkipException

    from vbot_provider.operators.vbot import create_campaign_once

    # No hook and no engine: a skipped chunk touches neither VBot nor the outbox.
    with pytest.raises(AirflowSkipException, match=r"campaign run payment_reminder/2026-11-26/003 has no contacts "
                                                   r"left \(erased on request before it was sent\); nothing was sent"):
        create_campaign_once(hook=None, engine=None, config_name="payment_reminder", run_date=date(2026, 11, 26),
                             chunk_number=3, template_id=2932, campaign_name="x", contacts=[])
