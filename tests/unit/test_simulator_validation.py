"""Create bodies checked as VBot checks them: what earns error 201, and how a valid one is read."""

from __future__ import annotations

import json

import pytest

from vbotflow_dev.simulator import default_config
from vbotflow_dev.simulator.validation import InvalidCampaign, parse_create_body

CONFIG = default_config()


def _body(**changes: object) -> dict:
    body = {"vbotId": "44634001", "groupCode": "PR2023030714401", "campaignId": 2932, "name": "nhac_no",
            "phones": [{"fields": [{"key": "phone", "value": "0912345678"}, {"key": "name", "value": "An"},
                                   {"key": "amount", "value": "150000"}, {"key": "due_date", "value": "2026-12-01"}]}]}
    body.update(changes)
    return {k: v for k, v in body.items() if v is not _DROP}


_DROP = object()


def _fields(*pairs: tuple[object, object]) -> list[dict]:
    return [{"fields": [{"key": k, "value": v} for k, v in pairs]}]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        *[(_body(**{key: _DROP}), f"{key} is required") for key in ("vbotId", "groupCode", "campaignId", "name",
                                                                     "phones")],
        *[(_body(**{key: ""}), f"{key} is required") for key in ("vbotId", "groupCode", "campaignId", "name")],
        (_body(phones=[]), "phones is required"),
        (_body(vbotId="44634999"), "vbotId 44634999 is not a known account"),
        (_body(campaignId=9999), "campaign template 9999 does not exist"),
        (_body(campaignId="abc"), "campaignId must be a number"),
        (_body(groupCode="PR-OTHER"), "template 2932 is not in group PR-OTHER"),
        (_body(phones=_fields(("name", "An"), ("amount", "1"), ("due_date", "x"))), r"phones\[0\] has no phone"),
        (_body(phones=_fields(("phone", " "), ("amount", "1"), ("due_date", "x"))), r"phones\[0\] has no phone"),
        (_body(phones=_fields(("phone", "0912345678"), ("amount", "1"))),
         r"phones\[0\] lacks field\(s\) due_date of template 2932"),
        (_body(phones=_fields(("phone", "0912345678"), ("amount", ""), ("due_date", ""))),
         r"lacks field\(s\) amount, due_date"),
        (_body(phones=_fields(("phone", "0912345678"), ("amount", 1), ("due_date", "x"))), "string value"),
        (_body(phones=[{"no_fields": []}]), r"phones\[0\] needs a fields list"),
        (_body(phones=_fields(("phone", "0912345678"), ("amount", "1"), ("due_date", "x"), ("numberCall", "0"))),
         "numberCall must be at least 1"),
        (_body(name=["x"]), "name must be a string"),
    ],
)
def test_bodies_vbot_refuses_with_error_201(body, message) -> None:
    with pytest.raises(InvalidCampaign, match=message):
        parse_create_body(json.dumps(body).encode(), CONFIG)


@pytest.mark.parametrize("raw", [b"", b"{not json", b"[1, 2]", "\ufeff{}".encode("utf-16")])
def test_a_body_that_is_not_a_json_object_is_invalid(raw) -> None:
    with pytest.raises(InvalidCampaign, match="body is not"):
        parse_create_body(raw, CONFIG)


def test_a_valid_body_is_read_with_its_template_contacts_and_number_of_calls() -> None:
    phones = _fields(("phone", "0912345678"), ("amount", "1"), ("due_date", "x"), ("numberCall", "3"),
                     ("extra_note", "kept")) + _fields(("phone", "0387654321"), ("amount", "2"), ("due_date", "y"))
    request = parse_create_body(json.dumps(_body(campaignId="2932", phones=phones)).encode(), CONFIG)
    assert request.template.template_id == 2932 and request.template.hotline == "02473001234"
    assert [c.phone for c in request.contacts] == ["0912345678", "0387654321"]
    assert request.contacts[0].fields["extra_note"] == "kept"  # fields the template does not declare are kept
    assert request.number_calls == (3, 1)  # numberCall, else the default of one call
