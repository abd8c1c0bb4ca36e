"""CRM write-back into a table made with the README's own DDL, on real SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import REPO_ROOT
from vbotflow.reconcile.writeback import WriteBackTableError, write_back
from vbotflow.store import db
from vbotflow.store.tables import contact_outcome

DAY = date(2026, 11, 26)
NOW = datetime(2026, 11, 27, 3, 4, 5, tzinfo=UTC)
TABLE = "vbot_call_outcome"


def readme_ddl(dialect: str) -> str:
    """The CREATE TABLE the README gives for ``dialect``, exactly as a reader would copy it."""
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"([^\n]*)\n\n```sql\n(CREATE TABLE vbot_call_outcome .*?)```", text, flags=re.S)
    label = {"sqlite": "SQLite", "postgresql": "PostgreSQL", "mysql": "MariaDB"}[dialect]
    (ddl,) = [sql for intro, sql in blocks if label in intro]
    return ddl


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres),
                        pytest.param("mariadb", marks=pytest.mark.mariadb)])
def crm_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty CRM database on each server (SQLite file, the session's PostgreSQL DB, a MariaDB DB)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'crm.db'}"
        return
    url = request.getfixturevalue("pg_server_url" if request.param == "postgresql" else "mariadb_server_url")
    yield url
    engine = db.make_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE IF EXISTS {TABLE}"))
    engine.dispose()


@pytest.fixture
def outcomes_db(tmp_path: Path) -> Iterator[sa.Engine]:
    url = f"sqlite:///{tmp_path / 'vbotflow.db'}"
    db.upgrade(url)
    engine = db.make_engine(url)
    rows = [("A", "answered", 200, 2, 35, Decimal("1370.10"), True, 501),
            ("B", "not_reached", 2, 2, 0, Decimal("0.00"), False, 501),
            ("D", "missing", None, 0, 0, Decimal("0.00"), False, 502)]
    with engine.begin() as conn:
        conn.execute(contact_outcome.insert(), [
            {"campaign_contact_id": n, "run_key": f"payment_reminder/{DAY}/001", "config_name": "payment_reminder",
             "run_date": DAY, "crm_contact_id": contact, "phone": f"091200000{n}", "vbot_campaign_id": campaign,
             "outcome": outcome, "final_status_code": status, "attempts": attempts, "talk_seconds": talk,
             "postage": cost, "service_charge": Decimal(0), "total_cost": cost, "is_answered": answered,
             "updated_at": NOW}
            for n, (contact, outcome, status, attempts, talk, cost, answered, campaign) in enumerate(rows, 1)])
    yield engine
    engine.dispose()


def _create_table(crm: sa.Engine, ddl: str) -> None:
    with crm.begin() as conn:
        conn.exec_driver_sql(ddl)


def _day(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _written(crm: sa.Engine) -> dict[str, tuple]:
    with crm.connect() as conn:
        rows = conn.execute(sa.text(f"SELECT * FROM {TABLE} ORDER BY contact_id")).mappings().all()
    return {r["contact_id"]: (_day(r["call_date"]), r["campaign"], r["outcome"], bool(r["is_answered"]),
                              r["attempts"], r["talk_seconds"], Decimal(str(r["total_cost"])).quantize(Decimal("0.01")),
                              r["final_status_code"], r["vbot_campaign_id"], str(r["updated_at"])[:19]) for r in rows}


def test_write_back_works_with_the_readme_ddl(crm_url: str, outcomes_db: sa.Engine) -> None:
    crm = db.make_engine(crm_url)
    _create_table(crm, readme_ddl(crm.dialect.name))
    try:
        assert write_back(outcomes_db, crm, DAY, DAY, now=NOW) == 3
        stamp = "2026-11-27 03:04:05"
        expected = {
            "A": (DAY, "payment_reminder", "answered", True, 2, 35, Decimal("1370.10"), 200, 501, stamp),
            "B": (DAY, "payment_reminder", "not_reached", False, 2, 0, Decimal("0.00"), 2, 501, stamp),
            "D": (DAY, "payment_reminder", "missing", False, 0, 0, Decimal("0.00"), None, 502, stamp),
        }
        written = _written(crm)
        if crm.dialect.name == "postgresql":  # timestamptz comes back in the session's zone: compare instants
            with crm.connect() as conn:
                stamps = set(conn.execute(sa.text(f"SELECT updated_at FROM {TABLE}")).scalars())
            assert stamps == {NOW}
            written = {k: (*v[:-1], stamp) for k, v in written.items()}
        assert written == expected

        # A second write-back of a changed outcome updates its row and adds none.
        with outcomes_db.begin() as conn:
            conn.execute(contact_outcome.update().where(contact_outcome.c.crm_contact_id == "B")
                         .values(outcome="answered", is_answered=True, talk_seconds=12, total_cost=Decimal("220.05")))
        later = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)
        assert write_back(outcomes_db, crm, DAY, DAY, now=later) == 3
        again = _written(crm)
        assert len(again) == 3
        assert again["B"][2:7] == ("answered", True, 2, 12, Decimal("220.05"))
        assert again["A"][:9] == expected["A"][:9]
    finally:
        crm.dispose()


def test_a_missing_table_is_named_with_what_to_do(crm_url: str, outcomes_db: sa.Engine) -> None:
    crm = db.make_engine(crm_url)
    try:
        with pytest.raises(WriteBackTableError,
                           match=r"the CRM has no table 'vbot_call_outcome'.*README, section 'Reconciliation'"):
            write_back(outcomes_db, crm, DAY, DAY, now=NOW)
    finally:
        crm.dispose()


@pytest.mark.parametrize(("change", "message"), [
    (lambda ddl: ddl.replace("  talk_seconds INTEGER NOT NULL, ", "  "),
     r"table 'vbot_call_outcome' lacks column\(s\) talk_seconds"),
    (lambda ddl: ddl.replace(",\n  PRIMARY KEY (contact_id, call_date, campaign))", ")"),
     r"needs a primary key or unique constraint on exactly \(contact_id, call_date, campaign\)"),
    (lambda ddl: ddl.replace("PRIMARY KEY (contact_id, call_date, campaign)", "PRIMARY KEY (contact_id, call_date)"),
     r"needs a primary key or unique constraint on exactly \(contact_id, call_date, campaign\)"),
])
def test_a_table_that_does_not_fit_fails_before_writing_anything(crm_url: str, outcomes_db: sa.Engine, change,
                                                                 message: str) -> None:
    crm = db.make_engine(crm_url)
    ddl = change(readme_ddl(crm.dialect.name))
    assert ddl != readme_ddl(crm.dialect.name)
    _create_table(crm, ddl)
    try:
        with pytest.raises(WriteBackTableError, match=message):
            write_back(outcomes_db, crm, DAY, DAY, now=NOW)
        with crm.connect() as conn:
            assert conn.execute(sa.text(f"SELECT COUNT(*) FROM {TABLE}")).scalar_one() == 0
    finally:
        crm.dispose()


def test_a_crm_column_the_write_back_cannot_fill_is_named(crm_url: str, outcomes_db: sa.Engine) -> None:
    crm = db.make_engine(crm_url)
    ddl = readme_ddl(crm.dialect.name).replace("  outcome VARCHAR(16) NOT NULL,",
                                               "  owner VARCHAR(20) NOT NULL, note VARCHAR(20),"
                                               " outcome VARCHAR(16) NOT NULL,")
    _create_table(crm, ddl)
    try:
        with pytest.raises(WriteBackTableError, match=r"has column\(s\) owner that are NOT NULL without a default"):
            write_back(outcomes_db, crm, DAY, DAY, now=NOW)
    finally:
        crm.dispose()


def test_rows_the_crm_refuses_fail_at_once_and_nothing_is_half_written(crm_url: str,
                                                                      outcomes_db: sa.Engine) -> None:
    # A CRM rule the outcomes break (here: no 'missing' outcome): every try fails the same way.
    crm = db.make_engine(crm_url)
    ddl = readme_ddl(crm.dialect.name).replace("  outcome VARCHAR(16) NOT NULL,",
                                               "  outcome VARCHAR(16) NOT NULL CHECK (outcome <> 'missing'),")
    _create_table(crm, ddl)
    try:
        with pytest.raises(WriteBackTableError, match=r"the CRM refused the write-back into 'vbot_call_outcome' "
                                                      r"\(\w+: .+\); nothing was written"):
            write_back(outcomes_db, crm, DAY, DAY, now=NOW)
        with crm.connect() as conn:
            assert conn.execute(sa.text(f"SELECT COUNT(*) FROM {TABLE}")).scalar_one() == 0
    finally:
        crm.dispose()
