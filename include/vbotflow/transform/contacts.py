"""From extracted CRM rows to accepted contacts and rejected rows with a reason.

Grain everywhere: one row per extracted CRM row, on the extract's index. Each step only looks at
rows no earlier step rejected, and fills ``reject_reason`` (plus ``reject_detail``); nothing is
dropped, so extracted = accepted + rejected holds by construction (and is checked).

Order of the decisions, and why:
1. phone: missing, invalid or not a VN mobile;
2. ``dnc``: the CRM's do-not-call flag — for every row of that phone, since one opt-out covers
   the number whichever CRM record carries it;
3. ``suppressed``: the phone is in the ``suppression`` table (opt-outs, national DNC list, bad numbers);
4. ``missing_field``: a required template field is empty (before dedupe, so an incomplete newer
   record cannot hide a complete older one);
5. ``duplicate``: same phone as another row; the latest ``updated_at`` wins, ties go to the
   smallest CRM contact id;
6. ``frequency_cap``: the phone was sent to VBot by another campaign run within the cap hours;
7. ``attempt_limit``: the phone has had its maximum number of attempts (list recycling).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from vbotflow.campaigns import CampaignConfig
from vbotflow.transform.phones import INVALID_PHONE, MISSING_PHONE, NOT_MOBILE, normalise_phones

DNC = "dnc"
SUPPRESSED = "suppressed"
MISSING_FIELD = "missing_field"
DUPLICATE = "duplicate"
FREQUENCY_CAP = "frequency_cap"
ATTEMPT_LIMIT = "attempt_limit"


PHONE_DETAILS = {
    MISSING_PHONE: "no phone number",
    INVALID_PHONE: "not a 10-digit Vietnamese number after normalisation",
    NOT_MOBILE: "not a Vietnamese mobile number (phonenumbers)",
}


class ExtractError(ValueError):
    """The extracted rows do not have the columns the config names."""


@dataclass(frozen=True)
class TransformResult:
    """Accepted contacts (one row per phone, with chunk numbers) and rejected rows (with reasons)."""

    accepted: pd.DataFrame
    rejected: pd.DataFrame
    extracted: int

    def rejected_by_reason(self) -> dict[str, int]:
        return {str(k): int(v) for k, v in self.rejected["reject_reason"].value_counts().sort_index().items()}


def _text(values: pd.Series) -> pd.Series:
    """Values as NFC text: integers without '.0', dates as ISO, booleans as true/false, blanks missing."""
    if pd.api.types.is_bool_dtype(values):
        text = values.map({True: "true", False: "false"}).astype("string[pyarrow]")
    elif pd.api.types.is_datetime64_any_dtype(values):
        has_time = bool((values.dropna().dt.normalize() != values.dropna()).any())
        text = values.dt.strftime("%Y-%m-%d %H:%M" if has_time else "%Y-%m-%d").astype("string[pyarrow]")
    elif pd.api.types.is_float_dtype(values) and bool((values.dropna() % 1 == 0).all()):
        text = values.astype("Int64").astype("string[pyarrow]")
    else:
        text = values.astype("string[pyarrow]")
    array = pc.utf8_normalize(pc.utf8_trim_whitespace(pa.chunked_array(text.array._pa_array)), form="NFC")
    text = pd.Series(pd.arrays.ArrowStringArray(array.cast(pa.large_string())), index=values.index)
    return text.mask(text.eq(""))


def _as_bool(values: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(values):
        return values.fillna(False).astype(bool)
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
    frame["raw_phone"] = raw[cols.phone].astype("string[pyarrow]")
    frame["updated_at"] = (pd.to_datetime(raw[cols.updated_at], errors="coerce", utc=True)
                           if cols.updated_at else pd.NaT)
    frame["is_dnc"] = _as_bool(raw[cols.dnc]) if cols.dnc else False
    for key, column in config.fields.items():
        frame[f"field:{key}"] = _text(raw[column])
    return frame


def _reject(frame: pd.DataFrame, mask: pd.Series, reason: str, detail: pd.Series | str | None = None) -> None:
    open_rows = frame["reject_reason"].isna() & mask.fillna(False).astype(bool)
    frame.loc[open_rows, "reject_reason"] = reason
    if detail is not None:
        frame.loc[open_rows, "reject_detail"] = detail[open_rows] if isinstance(detail, pd.Series) else detail


def decide(
    frame: pd.DataFrame,
    config: CampaignConfig,
    *,
    suppressed: Iterable[str] = (),
    recently_sent: Iterable[str] = (),
    attempts_used: pd.Series | None = None,
) -> pd.DataFrame:
    """Fill ``phone``, ``reject_reason`` and ``reject_detail`` for every row (see the module doc)."""
    frame = frame.copy()
    phones = normalise_phones(frame["raw_phone"])
    frame["phone"] = phones["phone"]
    frame["reject_reason"] = phones["reject_reason"]
    frame["reject_detail"] = frame["reject_reason"].map(PHONE_DETAILS).astype("string[pyarrow]")

    open_rows = frame["reject_reason"].isna()
    dnc_phones = frame.loc[open_rows & frame["is_dnc"], "phone"].unique()
    _reject(frame, frame["phone"].isin(dnc_phones), DNC, "CRM do-not-call flag")
    _reject(frame, frame["phone"].isin(pd.Index(list(suppressed), dtype="string[pyarrow]")), SUPPRESSED,
            "in the suppression table")

    if config.required_fields:
        empty = pd.DataFrame({k: frame[f"field:{k}"].isna() for k in config.required_fields})
        names = np.array(config.required_fields, dtype=object)
        has_empty = empty.any(axis=1)
        detail = pd.Series(pd.NA, index=frame.index, dtype="string[pyarrow]")
        if has_empty.any():
            rows = empty[has_empty].to_numpy()
            detail[has_empty] = [", ".join(names[r]) for r in rows]
        _reject(frame, has_empty, MISSING_FIELD, detail)

    open_rows = frame["reject_reason"].isna()
    ranked = frame.loc[open_rows, ["phone", "updated_at", "crm_contact_id"]]
    # "Smallest id" numerically where ids are numbers (so 3 before 20), else as text.
    ranked = ranked.assign(id_number=pd.to_numeric(ranked["crm_contact_id"], errors="coerce")).sort_values(
        ["phone", "updated_at", "id_number", "crm_contact_id"], ascending=[True, False, True, True],
        na_position="last")
    duplicated = ranked["phone"].duplicated()
    keeper = ranked["crm_contact_id"].where(~duplicated).ffill()
    dup_index = ranked.index[duplicated.to_numpy()]
    if len(dup_index):
        detail = ("kept CRM contact " + keeper[duplicated]).reindex(frame.index)
        _reject(frame, pd.Series(frame.index.isin(dup_index), index=frame.index), DUPLICATE, detail)

    _reject(frame, frame["phone"].isin(pd.Index(list(recently_sent), dtype="string[pyarrow]")), FREQUENCY_CAP,
            f"sent to VBot by another campaign run within {config.frequency_cap_hours} h")
    if attempts_used is not None and len(attempts_used):
        used = frame["phone"].map(attempts_used)
        _reject(frame, used >= config.max_attempts, ATTEMPT_LIMIT,
                f"{config.max_attempts} attempts already made")
    return frame


def split(decided: pd.DataFrame, config: CampaignConfig) -> TransformResult:
    """Accepted rows sorted by phone and cut into chunks of at most ``max_phones_per_campaign``."""
    is_rejected = decided["reject_reason"].notna()
    accepted = decided.loc[~is_rejected].sort_values("phone", kind="stable").copy()
    accepted["chunk_number"] = np.arange(len(accepted)) // config.max_phones_per_campaign + 1
    rejected = decided.loc[is_rejected].copy()
    result = TransformResult(accepted=accepted, rejected=rejected, extracted=len(decided))
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
) -> TransformResult:
    """The whole transform of one day's extract."""
    decided = decide(prepare(raw, config), config, suppressed=suppressed, recently_sent=recently_sent,
                     attempts_used=attempts_used)
    return split(decided, config)


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
