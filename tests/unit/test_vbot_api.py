"""The VBot wire format: bodies built exactly as the vendor's example, answers read tolerantly."""

from __future__ import annotations

import pytest

from vbotflow.vbot.api import build_create_body, canonical_json, contact_fields, parse_create_response, payload_sha256


def test_contact_fields_put_known_keys_first_then_custom_sorted_and_stringify_values() -> None:
    contact = {"zone": "HN", "numberCall": 2, "name": "Nguyễn Văn A", "amount": 150000.0, "phone": "0912345678",
               "is_vip": True, "note": None}
    assert contact_fields(contact) == [
        {"key": "phone", "value": "0912345678"},
        {"key": "name", "value": "Nguyễn Văn A"},
        {"key": "numberCall", "value": "2"},
        {"key": "amount", "value": "150000"},
        {"key": "is_vip", "value": "true"},
        {"key": "zone", "value": "HN"},
    ]


def test_contact_without_phone_is_refused() -> None:
    with pytest.raises(ValueError, match="non-empty 'phone'"):
        contact_fields({"name": "x"})


def test_create_body_matches_the_vendor_example() -> None:
    body = build_create_body(vbot_id="44634", group_code="PR2023", template_id=2932, name="campaign_name_new",
                             contacts=[{"phone": "0366255123", "name": "Nguyễn Văn x"}])
    assert body == {
        "vbotId": "44634",
        "groupCode": "PR2023",
        "campaignId": 2932,
        "name": "campaign_name_new",
        "phones": [{"fields": [{"key": "phone", "value": "0366255123"}, {"key": "name", "value": "Nguyễn Văn x"}]}],
    }
    assert canonical_json(body).startswith(b'{"vbotId":"44634","groupCode":"PR2023","campaignId":2932,')
    assert "Nguyễn".encode() in canonical_json(body)


def test_empty_contact_list_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one contact"):
        build_create_body(vbot_id="1", group_code="g", template_id=1, name="n", contacts=[])


def test_payload_hash_is_stable_and_sensitive_to_data() -> None:
    a = build_create_body(vbot_id="1", group_code="g", template_id=1, name="n", contacts=[{"phone": "0912345678"}])
    b = build_create_body(vbot_id="1", group_code="g", template_id=1, name="n", contacts=[{"phone": "0912345678"}])
    c = build_create_body(vbot_id="1", group_code="g", template_id=1, name="n", contacts=[{"phone": "0912345679"}])
    assert payload_sha256(a) == payload_sha256(b)
    assert payload_sha256(a) != payload_sha256(c)
    assert len(payload_sha256(a)) == 64


@pytest.mark.parametrize(
    ("answer", "ok", "campaign_id", "error_code", "without_id"),
    [
        ({"status": 1, "error": 0, "msg": "success", "data": 123}, True, 123, 0, False),
        ({"status": "1", "error": 2, "msg": "success", "data": "456"}, True, 456, 2, False),
        ({"status": 1, "error": 0, "msg": "success", "data": "-1"}, False, -1, 0, True),
        ({"status": 1, "msg": "success"}, False, None, None, True),
        ({"status": 0, "error": 201, "msg": "Tham số không hợp lệ", "data": "-1"}, False, -1, 201, False),
        ({"status": "0", "error": "400", "msg": "Lỗi", "data": -1}, False, -1, 400, False),
        ([1, 2], False, None, None, False),
        (None, False, None, None, False),
    ],
)
def test_create_answers_are_read_tolerantly(answer, ok, campaign_id, error_code, without_id) -> None:
    result = parse_create_response(answer)
    assert (result.ok, result.campaign_id, result.error_code, result.claims_success_without_id) == (
        ok, campaign_id, error_code, without_id)
