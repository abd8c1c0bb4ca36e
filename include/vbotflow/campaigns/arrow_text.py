"""Zero-copy views of Arrow ``large_string`` arrays: their row offsets and UTF-8 bytes as numpy
arrays, and missing ↔ empty text by a new validity bitmap over the same bytes.

The transform reads text columns of a million rows; copying their bytes (``fill_null``,
``if_else``) cost more than the work done on them.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def row_offsets(text: pa.Array) -> np.ndarray:
    """The ``len(text) + 1`` offsets of a large_string array's rows into its data buffer, without a copy."""
    return np.frombuffer(text.buffers()[1], dtype=np.int64)[text.offset:text.offset + len(text) + 1]


def bytes_of(text: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(row offsets from 0, the UTF-8 bytes) of a large_string array, without a copy."""
    offsets = row_offsets(text)
    data = text.buffers()[2]
    data = np.frombuffer(data, dtype=np.uint8)[offsets[0]:offsets[-1]] if data else np.zeros(0, np.uint8)
    return offsets - offsets[0], data


def blank_for_null(text: pa.Array) -> pa.Array:
    """Missing values as empty text, as a large_string array. Arrow leaves a null's bytes empty, so
    dropping the validity bitmap is enough and copies nothing (``fill_null`` copies every byte, a
    fresh 20 MB on a million rows); a null with bytes falls back to ``fill_null``."""
    text = text.cast(pa.large_string())
    if not text.null_count:
        return text
    offsets, _ = bytes_of(text)
    if np.any(np.diff(offsets)[pc.is_null(text).to_numpy(zero_copy_only=False)]):
        return pc.fill_null(text, "")
    buffers = text.buffers()
    return pa.LargeStringArray.from_buffers(len(text), buffers[1], buffers[2], None, 0, text.offset)


def blank_as_missing(text: pa.Array) -> pa.Array:
    """Empty texts as missing values, by a new validity bitmap over the same bytes (an empty text
    has none): ``if_else`` copied every byte of the column."""
    valid = np.diff(row_offsets(text)) > 0
    if text.null_count:
        valid &= pc.is_valid(text).to_numpy(zero_copy_only=False)
    bits = np.packbits(np.r_[np.zeros(text.offset, dtype=bool), valid], bitorder="little")  # from the slice's offset
    return pa.LargeStringArray.from_buffers(len(text), text.buffers()[1], text.buffers()[2], pa.py_buffer(bits),
                                            int(len(text) - np.count_nonzero(valid)), text.offset)
