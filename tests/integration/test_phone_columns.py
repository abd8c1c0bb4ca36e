"""Every column type, every database: the same phone list stored as INTEGER, BIGINT, REAL, NUMERIC,
TEXT and VARCHAR, with NULLs, in SQLite, PostgreSQL and MariaDB, read through the real extract,
gets the same decisions; a column type that has already rounded the numbers is refused."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
import yaml

from tests.unit.test_phones import SPELLINGS
from vbotflow.campaigns.config import CampaignConfig, load_config
from vbotflow.campaigns.extract import PhoneColumnTypeError, extract
from vbotflow.campaigns.phones import normalise_phones
from vbotflow.campaigns.transform import transform
from vbotflow.phone.reference import decide_phone
from vbotflow.store.db import make_engine

# Column types by database. "real" is an 8-byte float everywhere here: SQLite's REAL, MariaDB's
# REAL (DOUBLE), PostgreSQL's DOUBLE PRECISION — PostgreSQL's own REAL is 4 bytes, refused below.
TYPES = {
    "sqlite": {"integer": "INTEGER", "bigint": "BIGINT", "real": "REAL", "numeric": "NUMERIC(20, 0)",
               "numeric2": "NUMERIC(14, 2)", "text": "TEXT", "varchar": "VARCHAR(64)", "timestamp": "TIMESTAMP"},
    "postgresql": {"integer": "INTEGER", "bigint": "BIGINT", "real": "DOUBLE PRECISION", "numeric": "NUMERIC(20, 0)",
                   "numeric2": "NUMERIC(14, 2)", "text": "TEXT", "varchar": "VARCHAR(64)", "timestamp": "TIMESTAMP"},
    "mysql": {"integer": "INTEGER", "bigint": "BIGINT", "real": "REAL", "numeric": "NUMERIC(20, 0)",
              "numeric2": "NUMERIC(14, 2)", "text": "TEXT", "varchar": "VARCHAR(64)", "timestamp": "DATETIME"},
}
NUMERIC_TYPES = ("integer", "bigint", "real", "numeric", "numeric2")
TEXT_TYPES = ("text", "varchar")

# (customer id, phone as a number, DNC flag, updated) → (number sent to VBot, reject reason)
SMALL = [  # every value fits a 4-byte INTEGER
    (1, 912345678, 0, 2, ("0912345678", None)),  # the lost leading zero
    (2, None, 0, 1, (None, "missing_phone")),
    (3, 1689123456, 0, 1, ("0389123456", None)),  # an old Viettel number without its zero
    (4, 1201234567, 0, 1, ("0701234567", None)),
    (5, 842345678, 0, 1, ("0842345678", None)),  # 084…, not a country code
    (6, 1900123456, 0, 1, (None, "not_mobile")),
    (7, 1800123456, 0, 1, (None, "not_mobile")),
    (8, 12345, 0, 1, (None, "invalid_phone")),
    (9, 0, 0, 1, (None, "invalid_phone")),
    (10, 912345678, 0, 1, ("0912345678", "duplicate")),
    (11, 987654321, 1, 1, ("0987654321", "dnc")),
    (12, 987654321, 0, 1, ("0987654321", "dnc")),
    (13, None, 1, 1, (None, "dnc_unreadable")),
]
BIG = [  # numbers only BIGINT, NUMERIC(20, 0), REAL and text hold
    (1, 84912345678, 0, 1, ("0912345678", None)),
    (2, 2838221234, 0, 1, (None, "not_mobile")),  # a landline without its zero
    (3, 841689123456, 0, 1, ("0389123456", None)),
    (4, 8401240991978, 0, 1, ("0840991978", None)),  # 84, a trunk zero, an old number
    (5, None, 0, 1, (None, "missing_phone")),
    (6, 84987654321, 1, 1, ("0987654321", "dnc")),
    (7, 987654321, 0, 1, ("0987654321", "dnc")),  # the same number, flagged on the other record
]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres),
                        pytest.param("mariadb", marks=pytest.mark.mariadb)])
def crm_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A CRM database: a SQLite file, or the session's PostgreSQL or MariaDB database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'crm.db'}"
    elif request.param == "postgres":
        yield request.getfixturevalue("pg_server_url")
    else:
        yield request.getfixturevalue("mariadb_server_url")


def _create(engine: sa.Engine, rows: list[tuple], kinds: tuple[str, ...]) -> str:
    types = TYPES[engine.dialect.name]
    table = f"crm_phones_{uuid.uuid4().hex[:8]}"
    columns = ", ".join(f"phone_{k} {types[k]}" for k in kinds)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE TABLE {table} (customer_id INTEGER PRIMARY KEY, full_name VARCHAR(100), "
                             f"is_dnc INTEGER NOT NULL, updated_at {types['timestamp']} NOT NULL, {columns})"))
        for customer_id, number, dnc, day, _ in rows:
            values = {f"phone_{k}": None if number is None else (str(number) if k in TEXT_TYPES else number)
                      for k in kinds}
            conn.execute(sa.text(f"INSERT INTO {table} VALUES (:id, :name, :dnc, :at, "
                                 f"{', '.join(':' + c for c in values)})"),
                         {"id": customer_id, "name": f"Khách {customer_id}", "dnc": dnc,
                          "at": datetime(2026, 11, day, 8), **values})
    return table


def _config(tmp_path: Path, table: str, column: str) -> CampaignConfig:
    name = f"phones_{column}"
    sql = tmp_path / f"{name}_{table}.sql"
    sql.write_text(f"SELECT customer_id, {column} AS phone, full_name, is_dnc, updated_at FROM {table}\n",
                   encoding="utf-8")
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({
        "name": name, "template_id": 1, "sql_file": str(sql),
        "columns": {"contact_id": "customer_id", "phone": "phone", "updated_at": "updated_at", "dnc": "is_dnc"},
        "fields": {"name": "full_name"}, "required_fields": ["name"]}), encoding="utf-8")
    return load_config(path)


def _decisions(engine: sa.Engine, config: CampaignConfig) -> dict[int, tuple]:
    raw = extract(engine, config, {"run_date": date(2026, 11, 26)}, chunk_rows=5)
    result = transform(raw, config)
    assert result.extracted == len(raw) == len(result.accepted) + len(result.rejected)
    decided = {int(r.crm_contact_id): (r.phone, None) for r in result.accepted.itertuples()}
    decided |= {int(r.crm_contact_id): (None if pd.isna(r.phone) else r.phone, r.reject_reason)
                for r in result.rejected.itertuples()}
    return decided


@pytest.mark.parametrize(("rows", "kinds"), [(SMALL, NUMERIC_TYPES + TEXT_TYPES),
                                             (BIG, ("bigint", "real", "numeric") + TEXT_TYPES)],
                         ids=["fits-integer", "needs-bigint"])
def test_every_column_type_gives_the_same_decisions(crm_url: str, tmp_path: Path, rows, kinds) -> None:
    engine = make_engine(crm_url)
    table = _create(engine, rows, kinds)
    expected = {customer_id: decision for customer_id, *_, decision in rows}
    try:
        for kind in kinds:
            assert _decisions(engine, _config(tmp_path, table, f"phone_{kind}")) == expected, kind
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE {table}"))
        engine.dispose()


def test_text_spellings_survive_every_database(crm_url: str, tmp_path: Path) -> None:
    spellings = [text for text, _, _ in SPELLINGS if text is not None and len(text) <= 64]
    rows = [(i, text, 0, 1, None) for i, text in enumerate(spellings, start=1)]
    engine = make_engine(crm_url)
    table = _create(engine, rows, TEXT_TYPES)
    try:
        for kind in TEXT_TYPES:
            config = _config(tmp_path, table, f"phone_{kind}")
            raw = extract(engine, config, {"run_date": date(2026, 11, 26)}).sort_values("customer_id")
            assert raw["phone"].fillna("").tolist() == spellings, kind  # stored and read back as written
            phones = normalise_phones(raw["phone"])
            got = list(zip(phones["phone"].astype(object).where(phones["phone"].notna(), None),
                           phones["reject_reason"].astype(object).where(phones["reject_reason"].notna(), None),
                           strict=True))
            want = [(d.phone, d.reason) for d in map(decide_phone, raw["phone"])]
            assert got == want == [(p, r) for t, p, r in SPELLINGS if t is not None and len(t) <= 64], kind
            result = transform(raw, config)
            assert result.extracted == len(spellings) == len(result.accepted) + len(result.rejected)
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE {table}"))
        engine.dispose()


def test_a_sqlite_column_of_mixed_types_is_read_value_by_value(tmp_path: Path) -> None:
    # SQLite keeps what it is given in a column without a type: integers, reals and text side by side.
    engine = make_engine(f"sqlite:///{tmp_path / 'crm.db'}")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE mixed (customer_id INTEGER PRIMARY KEY, full_name TEXT, is_dnc INTEGER, "
                             "updated_at TIMESTAMP, phone)"))
        conn.execute(sa.text("INSERT INTO mixed VALUES (:id, 'A', 0, '2026-11-01 08:00:00', :phone)"), [
            {"id": 1, "phone": 912345678}, {"id": 2, "phone": "0987 654 321"}, {"id": 3, "phone": 1689123456.0},
            {"id": 4, "phone": None}, {"id": 5, "phone": "+912345678"}, {"id": 6, "phone": 912345678.5}])
    config = _config(tmp_path, "mixed", "phone")
    try:
        raw = extract(engine, config, {"run_date": date(2026, 11, 26)})
        assert raw["phone"].dtype == object
        assert _decisions(engine, config) == {1: ("0912345678", None), 2: ("0987654321", None),
                                              3: ("0389123456", None), 4: (None, "missing_phone"),
                                              5: (None, "foreign_number"), 6: (None, "invalid_phone")}
    finally:
        engine.dispose()


@pytest.mark.parametrize(("server", "column_type", "shown"), [
    pytest.param("postgres", "REAL", "real (float4)", marks=pytest.mark.postgres),
    pytest.param("mariadb", "FLOAT", "FLOAT", marks=pytest.mark.mariadb),
])
def test_a_phone_column_of_four_byte_floats_is_refused(request, tmp_path: Path, server: str, column_type: str,
                                                       shown: str) -> None:
    url = request.getfixturevalue("pg_server_url" if server == "postgres" else "mariadb_server_url")
    engine = make_engine(url)
    table = f"crm_float4_{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE TABLE {table} (customer_id INTEGER, full_name VARCHAR(10), is_dnc INTEGER, "
                             f"updated_at {TYPES[engine.dialect.name]['timestamp']}, phone {column_type})"))
        conn.execute(sa.text(f"INSERT INTO {table} VALUES (1, 'A', 0, '2026-11-01 08:00:00', 912345678)"))
        stored = conn.execute(sa.text(f"SELECT phone FROM {table}")).scalar_one()
    try:
        assert stored != 912345678  # what the CRM holds is already another number
        with pytest.raises(PhoneColumnTypeError) as raised:
            extract(engine, _config(tmp_path, table, "phone"), {"run_date": date(2026, 11, 26)})
        assert str(raised.value) == (
            f"phones_phone_{table}.sql: the phone column 'phone' arrives as {shown}, a 4-byte floating-point type "
            "that keeps only about 7 digits: its phone numbers are already rounded to other people's numbers. Store "
            "phones as text (VARCHAR) or BIGINT in the CRM; nothing was sent.")
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE {table}"))
        engine.dispose()
