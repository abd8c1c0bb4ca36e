"""NFC of only the values that can change: the table of code points and the byte scan."""

from __future__ import annotations

import unicodedata

import numpy as np
import pyarrow as pa

from vbotflow.campaigns import nfc_points
from vbotflow.campaigns.nfc import LIMIT, _changeable, changeable_table, derive_ranges, nfc


def test_the_stored_code_points_are_this_python_s_unicode() -> None:
    assert nfc_points.UNIDATA_VERSION == unicodedata.unidata_version, "run: python -m vbotflow.campaigns.nfc"
    assert nfc_points.RANGES == derive_ranges()


def test_the_table_holds_exactly_the_derived_code_points() -> None:
    expected = np.zeros(LIMIT + 1, dtype=bool)
    for first, last in derive_ranges():
        expected[first:last + 1] = True
    assert np.array_equal(changeable_table(), expected)


def test_values_in_every_block_and_in_a_sliced_array_are_found() -> None:
    values = ["Khách hàng"] * 200_000
    changed = [0, 65_535, 65_536, 131_071, 199_999]
    for row in changed:
        values[row] = f"Nguye\u0302\u0303n {row}"
    values[100_000] = None
    array = pa.array(values, pa.large_string())
    expected = [None if v is None else unicodedata.normalize("NFC", v) for v in values]
    assert nfc(pa.chunked_array([array])).to_pylist() == expected
    sliced = array.slice(65_530, 70_000)
    assert nfc(pa.chunked_array([sliced, array.slice(0, 3)])).to_pylist() == expected[65_530:135_530] + expected[:3]


def test_characters_of_every_utf8_length_are_read() -> None:
    values = ["\u00e9\u0301", "x\u0958", "\u1100\u1161", "\U0002f800", "\U0001d15e", "\u00e1\u1ea1\u0111", "\U0001f600"]
    table = changeable_table()
    found = _changeable(pa.array(values, pa.large_string()))
    assert found.tolist() == [any(table[min(ord(c), LIMIT)] for c in v) for v in values] == [
        True, True, True, True, True, False, False]
    array = pa.chunked_array([pa.array(values, pa.large_string())])
    assert nfc(array).to_pylist() == [unicodedata.normalize("NFC", v) for v in values]
