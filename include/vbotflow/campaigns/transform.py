"""From extracted CRM rows to accepted contacts and rejected rows with a reason.

Grain everywhere: one row per extracted CRM row, on the extract's index. Each step only looks at
rows no earlier step rejected, and fills ``reject_reason`` (plus ``reject_detail``); nothing is
dropped, so extracted = accepted + rejected holds by construction (and is checked).

Order of the decisions, and why:
1. ``dnc``: the CRM's do-not-call flag, read before anything else so that it holds for the number
   in every spelling — also one with a note around it, or one of several numbers in the cell;
   ``dnc_unreadable``: the flag is set but no number can be read from the cell (reported, so that
   a person corrects the CRM record: its number cannot be suppressed);
2. phone: ``missing_phone``, ``invalid_phone``, ``not_mobile``, ``foreign_number``,
   ``several_numbers``, ``phone_with_note`` (``vbotflow.phone``; the README's cleaning rules);
3. ``dnc`` again for every other row of a flagged number, since one opt-out covers the number
   whichever CRM record carries it;
4. ``suppressed``: the phone is in the ``suppression`` table (opt-outs, national DNC list, bad numbers);
5. ``missing_field``: a required template field is empty (before dedupe, so an incomplete newer
   record cannot hide a complete older one);
6. ``duplicate``: same phone as another row; the latest ``updated_at`` wins, ties go to the
   smallest CRM contact id;
7. ``frequency_cap``: the phone was sent to VBot by another campaign run within the cap hours;
8. ``attempt_limit``: this config already sent the phone ``max_attempts`` times without an answer;
9. ``retry_later``: its last unanswered send for this config is less than ``retry_after_hours`` old
   (list recycling: unanswered and busy contacts come back, spaced, up to the limit).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from vbotflow.campaigns.arrow_text import blank_as_missing
from vbotflow.campaigns.config import CampaignConfig
from vbotflow.campaigns.nfc import nfc as _nfc
from vbotflow.campaigns.phones import arrow_array, normalise_phones
from vbotflow.phone.reference import numbers_in_cell
from vbotflow.phone.rules import FOREIGN_NUMBER, NOT_MOBILE, PHONE_REASONS, SEVERAL_NUMBERS

DNC = "dnc"
DNC_UNREADABLE = "dnc_unreadable"
SUPPRESSED = "suppressed"
MISSING_FIELD = "missing_field"
DUPLICATE = "duplicate"
FREQUENCY_CAP = "frequency_cap"
ATTEMPT_LIMIT = "attempt_limit"
RETRY_LATER = "retry_later"

DNC_FLAG = "CRM do-not-call flag"


class ExtractError(ValueError):
    """The extracted rows do not have the columns the config names."""


@dataclass(frozen=True)
class TransformResult:
    """Accepted contacts (one row per phone, with chunk numbers) and rejected rows (with reasons)."""

    accepted: pd.DataFrame
    rejected: pd.DataFrame
    extracted: int
    # Every mobile a CRM do-not-call flag names, in the domestic form (the suppression table's).
    dnc_phones: tuple[str, ...] = ()

    def rejected_by_reason(self) -> dict[str, int]:
        counts = self.rejected["reject_reason"].value_counts()
        return {str(k): int(v) for k, v in sorted(counts.items(), key=lambda kv: str(kv[0])) if v}


def _text(values: pd.Series) -> pd.Series:
    """Values as NFC text: integers without '.0', dates as ISO, booleans as true/false, blanks missing.

    Converted with Arrow kernels: a Python ``str()`` per value would dominate the transform.
    """
    if pd.api.types.is_bool_dtype(values):
        values = values.map({True: "true", False: "false"})
    elif pd.api.types.is_float_dtype(values) and _whole(values.to_numpy(dtype=float, na_value=np.nan)):
        values = values.astype("Int64")
    array = arrow_array(values)
    if pa.types.is_timestamp(array.type):
        # Cast, not strftime (ten times slower): "YYYY-MM-DD HH:MM:SS…" cut to minutes, or to the day.
        has_time = pc.any(pc.not_equal(pc.floor_temporal(array, unit="day"), array)).as_py()
        array = pc.utf8_slice_codeunits(array.cast(pa.large_string()), 0, 16 if has_time else 10)
    elif _written_by_arrow(array.type):
        # What Arrow writes for numbers and dates ("YYYY-MM-DD") is ASCII and never blank: no trim,
        # no NFC, no blank test (three of the bench list's four text columns).
        return pd.Series(pd.arrays.ArrowStringArray(array.cast(pa.large_string())), index=values.index)
    else:
        array = blank_as_missing(_nfc(pc.utf8_trim_whitespace(array.cast(pa.large_string()))))
    return pd.Series(pd.arrays.ArrowStringArray(array), index=values.index)


def _whole(numbers: np.ndarray) -> bool:
    """Every number whole (NaN ignored; infinity is not): with numpy, ten times faster than pandas' ``% 1``."""
    return bool(np.all(np.isnan(numbers) | (np.isfinite(numbers) & (np.floor(numbers) == numbers))))


def _written_by_arrow(kind: pa.DataType) -> bool:
    """Numbers and dates: their text is Arrow's cast, not a person's."""
    return pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind) \
        or pa.types.is_date(kind)


def _id_order(ids: pd.Series) -> np.ndarray:
    """Sort keys of contact ids: numeric ids numerically (3 before 20), others as text."""
    if pd.api.types.is_integer_dtype(ids) or pd.api.types.is_float_dtype(ids):
        return ids.to_numpy(dtype=float, na_value=np.inf)
    numbers = pd.to_numeric(ids, errors="coerce")
    if numbers.notna().all():
        return numbers.to_numpy(dtype=float)
    return pd.factorize(ids.astype("string"), sort=True)[0].astype(float)


def _as_bool(values: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(values):
        return values.fillna(False).astype(bool)
    if pd.api.types.is_integer_dtype(values):  # 1 is the only integer whose text is a "yes"
        return (values == 1).fillna(False).astype(bool)
    text = values.astype("string").str.strip().str.lower()
    return text.isin(["1", "true", "t", "yes", "y", "x"]).fillna(False).astype(bool)


def prepare(raw: pd.DataFrame, config: CampaignConfig) -> pd.DataFrame:
    """Select and type the columns the config names: contact id, phone, update time, DNC, fields."""
    cols = config.columns
    needed = [cols.contact_id, cols.phone, *config.fields.values()]
    needed += [c for c in (cols.updated_at, cols.dnc) if c]
    missing = [c for c in dict.fromkeys(needed) if c not in raw.columns]
    if missing:
        raise ExtractError(f"{config.path.name}: the SQL result has no column(s) {', '.join(missing)} "
                           f"(it has {', '.join(map(str, raw.columns))})")
    frame = pd.DataFrame(index=raw.index)
    frame["crm_contact_id"] = _text(raw[cols.contact_id])
    frame["id_order"] = _id_order(raw[cols.contact_id])
    frame["raw_phone"] = raw[cols.phone]  # as typed: a number column keeps its numbers
    frame["updated_at"] = (pd.to_datetime(raw[cols.updated_at], errors="coerce", utc=True)
                           if cols.updated_at else pd.NaT)
    frame["is_dnc"] = _as_bool(raw[cols.dnc]) if cols.dnc else False
    for key, column in config.fields.items():
        frame[f"field:{key}"] = _text(raw[column])
    return frame


REASONS = (DNC, DNC_UNREADABLE, *PHONE_REASONS, SUPPRESSED, MISSING_FIELD, DUPLICATE, FREQUENCY_CAP,
           ATTEMPT_LIMIT, RETRY_LATER)


def _labels(values: pd.Series, rows: np.ndarray) -> np.ndarray:
    """A categorical's texts at ``rows`` (None where missing), as objects."""
    labels = np.array([None, *values.cat.categories], dtype=object)
    return labels[values.cat.codes.to_numpy()[rows] + 1]


class _Decisions:
    """Reject reason (as a small integer, 0 = still open) and detail per row, as plain arrays:
    setting them by mask stays cheap at a million rows. A row's detail is a number into a table of
    texts, turned into texts once at the end: rows sharing a text, and the duplicates of one kept
    contact, cost an integer each, not a Python object set and reset on the way."""

    def __init__(self, rows: int) -> None:
        self.code = np.zeros(rows, dtype=np.int8)
        self.detail = np.full(rows, -1, dtype=np.int32)  # into the texts; -1: none
        self._texts: list[np.ndarray] = []
        self._count = 0

    def _add(self, texts: Sequence[str | None] | np.ndarray) -> int:
        """Append texts to the table; returns the number of the first."""
        first = self._count
        self._texts.append(np.asarray(texts, dtype=object))
        self._count += len(texts)
        return first

    @property
    def open(self) -> np.ndarray:
        return self.code == 0

    def reject(self, mask: np.ndarray, reason: str, detail: str | None = None) -> None:
        rows = self.open & mask
        self.code[rows] = REASONS.index(reason) + 1
        if detail is not None:
            self.detail[rows] = self._add([detail])

    def reject_rows(self, rows: np.ndarray, reason: str, texts: Sequence[str] | np.ndarray,
                    which: np.ndarray | None = None) -> None:
        """Reject the open rows among ``rows`` (positions): the detail of ``rows[i]`` is
        ``texts[which[i]]`` (``texts[i]`` without ``which``). No million-long mask for a few rows."""
        which = np.arange(len(rows)) if which is None else which
        still_open = self.code[rows] == 0
        if not still_open.all():
            rows, which = rows[still_open], which[still_open]
        self.code[rows] = REASONS.index(reason) + 1
        self.detail[rows] = self._add(texts) + which

    def reject_each(self, reasons: pd.Series, details: pd.Series) -> None:
        """Open rows with a reason in ``reasons`` (categorical, one per row, missing: none) get it and its detail."""
        lookup = np.array([0, *(REASONS.index(r) + 1 for r in reasons.cat.categories)], dtype=np.int8)
        code = lookup[reasons.cat.codes.to_numpy() + 1]
        rows = np.flatnonzero(self.open & (code > 0))
        self.code[rows] = code[rows]
        which = details.cat.codes.to_numpy()[rows].astype(np.int32)
        self.detail[rows] = np.where(which >= 0, self._add(list(details.cat.categories)) + which, -1)

    def details(self) -> np.ndarray:
        """Every row's detail text (None where none), as objects."""
        return np.concatenate([*self._texts, np.array([None], dtype=object)])[self.detail]

    def reasons(self, index: pd.Index) -> pd.Series:
        return pd.Series(pd.Categorical.from_codes(self.code.astype(np.int16) - 1, categories=REASONS), index=index)


def _phone_numbers(phones: Iterable[str] | pd.Series) -> np.ndarray:
    """``0xxxxxxxxx`` strings as int64 (-1 where missing): sorting and matching integers is cheap."""
    if isinstance(phones, pd.Series):
        array = arrow_array(phones).cast(pa.large_string())
    else:
        array = pa.array(list(phones), pa.large_string())
    return pc.fill_null(pc.cast(array, pa.int64()), -1).to_numpy()


def _flagged_numbers(frame: pd.DataFrame, phones: pd.DataFrame, phone_number: np.ndarray,
                     decisions: _Decisions) -> np.ndarray:
    """Reject the rows the CRM flags do-not-call (``dnc``, or ``dnc_unreadable`` when no number
    can be read from the cell); returns every mobile the flags name."""
    flagged = np.flatnonzero(frame["is_dnc"].to_numpy(dtype=bool))
    reasons, why = _labels(phones["reject_reason"], flagged), _labels(phones["reject_detail"], flagged)
    numbers = [phone_number[flagged]]
    read = (numbers[0] >= 0) | np.isin(reasons, [NOT_MOBILE, FOREIGN_NUMBER])
    detail = np.full(len(flagged), DNC_FLAG, dtype=object)
    # Several numbers in one flagged cell: each of them is the customer's, and none may be called.
    raw = frame["raw_phone"]
    for i in np.flatnonzero(reasons == SEVERAL_NUMBERS):
        found = numbers_in_cell(raw.iat[flagged[i]])
        if found:
            numbers.append(_phone_numbers(found))
            read[i] = True
            detail[i] = f"{DNC_FLAG} ({len(found)} numbers in the cell)"
    for i in np.flatnonzero(~read):
        detail[i] = (f"{DNC_FLAG}, but the phone cannot be read ({why[i]}): no number could be suppressed; "
                     "correct the CRM record")
    decisions.reject_rows(flagged[read], DNC, detail[read])
    decisions.reject_rows(flagged[~read], DNC_UNREADABLE, detail[~read])
    found = np.concatenate(numbers)
    return np.unique(found[found >= 0])


def decide(
    frame: pd.DataFrame,
    config: CampaignConfig,
    *,
    suppressed: Iterable[str] = (),
    recently_sent: Iterable[str] = (),
    attempts_used: pd.Series | None = None,
    retry_later: Iterable[str] = (),
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Fill ``phone``, ``reject_reason`` and ``reject_detail`` for every row (see the module doc).

    ``phone`` is the mobile a row's cell names, also on rows rejected for it (a note around it,
    the DNC flag). Returns the frame and every mobile a CRM do-not-call flag names.
    """
    phones = normalise_phones(frame["raw_phone"])
    decisions = _Decisions(len(frame))
    phone_number = _phone_numbers(phones["phone"])
    has_phone = phone_number >= 0

    phone_index = pd.Index(phone_number)

    def phone_in(numbers: np.ndarray) -> np.ndarray:
        # A hash lookup (pandas) rather than np.isin's sort of a million values; none for an empty
        # list (no recent sends, no retries: 14 ms each on a million rows).
        if not len(numbers):
            return np.zeros(len(phone_number), dtype=bool)
        return has_phone & phone_index.isin(numbers)

    dnc_numbers = _flagged_numbers(frame, phones, phone_number, decisions)
    decisions.reject_each(phones["reject_reason"], phones["reject_detail"])
    decisions.reject(phone_in(dnc_numbers), DNC, f"{DNC_FLAG} on another record of this number")
    decisions.reject(phone_in(_phone_numbers(suppressed)), SUPPRESSED, "in the suppression table")

    if config.required_fields:
        empty = np.column_stack([frame[f"field:{k}"].isna().to_numpy() for k in config.required_fields])
        rows = np.flatnonzero(empty.any(axis=1))
        names = np.array(config.required_fields, dtype=object)
        detail = np.array([", ".join(names[r]) for r in empty[rows]], dtype=object)
        decisions.reject_rows(rows, MISSING_FIELD, detail)

    _reject_duplicates(frame, decisions, phone_number)

    decisions.reject(phone_in(_phone_numbers(recently_sent)), FREQUENCY_CAP,
                     f"sent to VBot by another campaign run within {config.frequency_cap_hours} h")
    if attempts_used is not None and len(attempts_used):
        used = phones["phone"].map(attempts_used).fillna(0).to_numpy()
        decisions.reject(used >= config.max_attempts, ATTEMPT_LIMIT,
                         f"{config.max_attempts} unanswered sends already")
    decisions.reject(phone_in(_phone_numbers(retry_later)), RETRY_LATER,
                     f"last unanswered send less than {config.retry_after_hours} h ago")

    out = frame.copy(deep=False)  # copy-on-write: the new columns never touch the caller's frame
    out["raw_phone"] = phones["raw_text"]
    out["phone"] = phones["phone"]
    out["phone_number"] = phone_number
    out["reject_reason"] = decisions.reasons(frame.index)
    out["reject_detail"] = pd.Series(decisions.details(), index=frame.index, dtype=object)
    return out, tuple(f"0{n}" for n in dnc_numbers)


def _stable_order(keys: np.ndarray) -> np.ndarray:
    """``np.argsort(keys, kind="stable")`` for non-negative integer keys, six times faster: the key
    and the position packed in one int64 and sorted by value (numpy's SIMD sort), which is stable
    because positions are distinct."""
    bits = max(int(len(keys)).bit_length(), 1)
    if not len(keys) or keys.min() < 0 or int(keys.max()) >= 1 << (63 - bits):
        return np.argsort(keys, kind="stable")
    packed = keys.astype(np.int64) << bits
    packed |= np.arange(len(keys), dtype=np.int64)
    packed.sort()
    packed &= (1 << bits) - 1
    return packed


def _keepers(phone: np.ndarray, updated: np.ndarray, id_order: np.ndarray) -> np.ndarray:
    """For rows grouped by phone: the position of the row each keeps to (itself for the kept one).

    Kept: the latest ``updated`` (int64 nanoseconds), then the smallest ``id_order``, then the
    first in extract order. One sort by phone and a few passes per group, not a sort on three keys.
    """
    order = _stable_order(phone)  # within a phone, extract order
    numbers = phone[order]
    starts = np.flatnonzero(np.r_[True, numbers[1:] != numbers[:-1]])
    sizes = np.diff(np.r_[starts, len(order)])
    latest = updated[order]
    best = latest == np.repeat(np.maximum.reduceat(latest, starts), sizes)
    ids = np.where(best, id_order[order], np.inf)
    best &= ids == np.repeat(np.minimum.reduceat(ids, starts), sizes)
    seen = np.cumsum(best)
    first = best & (seen - np.repeat(seen[starts] - best[starts], sizes) == 1)
    keeper = np.empty(len(order), dtype=np.int64)
    keeper[order] = order[np.repeat(np.flatnonzero(first), sizes)]
    return keeper


def _reject_duplicates(frame: pd.DataFrame, decisions: _Decisions, phone_number: np.ndarray) -> None:
    """Among open rows, keep one per phone: latest ``updated_at``, then the smallest contact id."""
    rows = np.flatnonzero(decisions.open & (phone_number >= 0))
    if len(rows) < 2:
        return
    updated = pd.DatetimeIndex(frame["updated_at"]).asi8[rows]
    updated = np.where(updated == np.iinfo(np.int64).min, np.iinfo(np.int64).min + 1, updated)  # NaT loses
    keeper = rows[_keepers(phone_number[rows], updated, frame["id_order"].to_numpy()[rows])]
    repeat = keeper != rows
    if not repeat.any():
        return
    kept = keeper[repeat]
    # One text per kept contact, shared by all its duplicates (half as many Python strings here):
    # the kept rows in order, and each duplicate's slot among them, by tables over the row positions.
    is_kept = np.zeros(len(frame), dtype=bool)
    is_kept[kept] = True
    kept_rows = np.flatnonzero(is_kept)
    slot = np.zeros(len(frame), dtype=np.int32)
    slot[kept_rows] = np.arange(len(kept_rows), dtype=np.int32)
    texts = pc.binary_join_element_wise(
        pa.scalar("kept CRM contact ", pa.large_string()),
        arrow_array(frame["crm_contact_id"]).take(pa.array(kept_rows)),
        pa.scalar("", pa.large_string())).to_numpy(zero_copy_only=False)
    decisions.reject_rows(rows[repeat], DUPLICATE, texts, slot[kept])


def split(decided: pd.DataFrame, config: CampaignConfig, dnc_phones: tuple[str, ...] = ()) -> TransformResult:
    """Accepted rows sorted by phone and cut into chunks of at most ``max_phones_per_campaign``."""
    is_rejected = decided["reject_reason"].notna().to_numpy()
    accepted_rows = np.flatnonzero(~is_rejected)
    accepted_rows = accepted_rows[_stable_order(decided["phone_number"].to_numpy()[accepted_rows])]
    fields = [c for c in decided.columns if c.startswith("field:")]
    accepted = decided[["crm_contact_id", "phone", *fields]].iloc[accepted_rows]
    accepted = accepted.assign(chunk_number=np.arange(len(accepted)) // config.max_phones_per_campaign + 1)
    rejected = decided[["crm_contact_id", "raw_phone", "phone", "reject_reason", "reject_detail"]].iloc[
        np.flatnonzero(is_rejected)]
    result = TransformResult(accepted=accepted, rejected=rejected, extracted=len(decided), dnc_phones=dnc_phones)
    if len(accepted) + len(rejected) != len(decided):
        raise AssertionError(f"{len(decided)} extracted != {len(accepted)} accepted + {len(rejected)} rejected")
    return result


def transform(
    raw: pd.DataFrame,
    config: CampaignConfig,
    *,
    suppressed: Iterable[str] = (),
    recently_sent: Iterable[str] = (),
    attempts_used: pd.Series | None = None,
    retry_later: Iterable[str] = (),
) -> TransformResult:
    """The whole transform of one day's extract."""
    with _malloc_for_arrow():
        decided, dnc_phones = decide(prepare(raw, config), config, suppressed=suppressed,
                                     recently_sent=recently_sent, attempts_used=attempts_used, retry_later=retry_later)
        return split(decided, config, dnc_phones)


@contextmanager
def _malloc_for_arrow() -> Iterator[None]:
    """Arrow allocates from the C library's malloc for the transform, then the previous allocator
    is back for the process's other Arrow work (buffers are freed by the pool that made them).

    Why: in a fresh process, as an Airflow task is, Arrow's default allocator (mimalloc) made the
    first transform of a million rows ~0.3 s (~20 %) slower than a second one; with malloc the first
    costs about what later ones do, which are no slower (BENCHMARKS.md, daily-list transform).
    """
    previous = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        yield
    finally:
        pa.set_memory_pool(previous)


def vbot_contacts(accepted: pd.DataFrame, config: CampaignConfig) -> list[dict[str, str]]:
    """Accepted rows as VBot contacts: phone, the mapped fields (blank ones left out), numberCall."""
    keys = list(config.fields)
    columns = ["phone", *(f"field:{k}" for k in keys)]
    number_call = str(config.number_call)
    contacts = []
    for row in accepted[columns].itertuples(index=False, name=None):
        contact = {"phone": row[0]}
        for key, value in zip(keys, row[1:], strict=True):
            if value is not None and value is not pd.NA:
                contact[key] = value
        contact["numberCall"] = number_call
        contacts.append(contact)
    return contacts
