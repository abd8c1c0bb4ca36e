"""Shared fixtures: an isolated Airflow home, integration databases on SQLite and PostgreSQL.

PostgreSQL tests need the server on 127.0.0.1:5432 (``VBOTFLOW_TEST_PG_URL`` overrides). Without
it they skip, except under ``CI=true``, where an unreachable server fails the run.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

# Airflow reads its configuration at import time: point it at a throwaway home first.
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="vbotflow-airflow-"))
REPO_ROOT = Path(__file__).resolve().parents[1]
os.environ["AIRFLOW_HOME"] = str(_AIRFLOW_HOME)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO_ROOT / "dags")
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"
# dag.test() runs DAGs it finds in a bundle: the product's dags/ and the test-only tests/dags/.
os.environ["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"] = json.dumps([
    {"name": "dags-folder", "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
     "kwargs": {"path": str(REPO_ROOT / "dags")}},
    {"name": "test-dags", "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
     "kwargs": {"path": str(REPO_ROOT / "tests" / "dags")}},
])
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_AIRFLOW_HOME / 'airflow.db'}"
os.environ.pop("VBOTFLOW_DB_URL", None)

import pytest  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from vbotflow.store import db  # noqa: E402
from vbotflow.store.tables import metadata  # noqa: E402

PG_ADMIN_URL = os.environ.get("VBOTFLOW_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
MARIADB_ADMIN_URL = os.environ.get("VBOTFLOW_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _reachable(url: str) -> str | None:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return None
    except sa.exc.OperationalError as err:
        return str(err).splitlines()[0]
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped at the end."""
    problem = _reachable(PG_ADMIN_URL)
    if problem:
        message = f"PostgreSQL at {PG_ADMIN_URL} is unreachable: {problem}"
        if IN_CI:
            pytest.fail(message + " (CI=true: PostgreSQL tests must run, not skip)", pytrace=False)
        pytest.skip(message)
    name = f"vbotflow_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


MARIADB_ADMIN_URL = os.environ.get("VBOTFLOW_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test")


@pytest.fixture(scope="session")
def mariadb_server_url() -> Iterator[str]:
    """A fresh MariaDB/MySQL database for this test session (a CRM there), dropped at the end."""
    problem = _reachable(MARIADB_ADMIN_URL)
    if problem:
        message = f"MariaDB at {MARIADB_ADMIN_URL} is unreachable: {problem}"
        if IN_CI:
            pytest.fail(message + " (CI=true: MariaDB tests must run, not skip)", pytrace=False)
        pytest.skip(message)
    admin = sa.create_engine(MARIADB_ADMIN_URL)
    name = f"vbotflow_test_{uuid.uuid4().hex[:10]}"
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"))
    url = sa.engine.make_url(MARIADB_ADMIN_URL).set(database=name, query={"charset": "utf8mb4"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS `{name}`"))
        admin.dispose()


@pytest.fixture(scope="session")
def pg_migrated_url(pg_server_url: str) -> str:
    db.upgrade(pg_server_url)
    return pg_server_url


def _empty_all_tables(url: str) -> None:
    engine = db.make_engine(url)
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty integration database: a SQLite file, or the session's PostgreSQL DB."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'vbotflow.db'}"
        db.upgrade(url)
        yield url
    else:
        url = request.getfixturevalue("pg_migrated_url")
        _empty_all_tables(url)
        yield url
        _empty_all_tables(url)


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.engine.Engine]:
    engine = db.make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """Airflow's own metadata DB (SQLite), migrated once per session, for DAG runs."""
    import subprocess

    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True,
                   env=os.environ.copy(), timeout=300)
    return _AIRFLOW_HOME
