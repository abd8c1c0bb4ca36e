from __future__ import annotations

import pytest

from vbotflow.privacy.masking import mask_phone, mask_phones_in_text


@pytest.mark.parametrize(
    ("phone", "masked"),
    [("0912345678", "09******78"), ("+84 912 345 678", "84*******78"), ("1234", "****"), (None, ""), ("", "")],
)
def test_mask_phone_keeps_two_digits_each_end(phone, masked) -> None:
    assert mask_phone(phone) == masked


def test_phones_inside_text_are_masked_and_other_numbers_kept() -> None:
    text = "số 0912345678 và +84 987.654.321 lỗi 201 lúc 2026"
    assert mask_phones_in_text(text) == "số 09******78 và 84*******21 lỗi 201 lúc 2026"
