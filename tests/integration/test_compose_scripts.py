"""The scripts docker-compose runs in its containers, run here against the real PostgreSQL server.

No Docker on this machine: the containers' environment is reproduced with variables, the scripts
are the very files the image carries.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from vbot_provider.conn_fields import default_extras
from vbotflow.store import db

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "scripts" / "compose"
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.postgres


@pytest.fixture
def make_database(pg_server_url: str) -> Iterator:
    """Creates throwaway databases (and roles) on the server; drops them afterwards."""
    admin = sa.create_engine(pg_server_url, isolation_level="AUTOCOMMIT")
    databases: list[str] = []
    roles: list[str] = []

    def create(prefix: str) -> str:
        name = f"vbotflow_test_{prefix}_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        databases.append(name)
        return sa.engine.make_url(pg_server_url).set(database=name).render_as_string(hide_password=False)

    create.databases = databases  # type: ignore[attr-defined]
    create.roles = roles  # type: ignore[attr-defined]
    create.admin = admin  # type: ignore[attr-defined]
    yield create
    with admin.connect() as conn:
        for name in databases:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        for role in roles:
            conn.execute(sa.text(f'DROP ROLE IF EXISTS "{role}"'))
    admin.dispose()


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "VBOTFLOW_", "VBOT_", "PG"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def test_postgres_init_creates_the_integration_database_with_its_own_role(pg_server_url: str, make_database) -> None:
    if shutil.which("psql") is None:
        pytest.skip("psql is not installed")
    url = sa.engine.make_url(pg_server_url)
    name, role = f"vbotflow_test_init_{uuid.uuid4().hex[:8]}", f"vbotflow_test_role_{uuid.uuid4().hex[:8]}"
    make_database.databases.append(name)
    make_database.roles.append(role)
    env = clean_env(PGHOST=url.host or "127.0.0.1", PGPORT=str(url.port or 5432),
                    POSTGRES_USER=url.username or "postgres", POSTGRES_DB=url.database or "postgres",
                    VBOTFLOW_DB_NAME=name, VBOTFLOW_DB_USER=role,
                    VBOTFLOW_DB_PASSWORD="it's a \"quoted\" secret")  # quoting must hold
    done = subprocess.run(["bash", str(SCRIPTS / "postgres-init.sh")], env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "quoted" not in done.stdout + done.stderr
    with make_database.admin.connect() as conn:
        owner = conn.execute(sa.text("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = :n"),
                             {"n": name}).scalar_one()
        can_login = conn.execute(sa.text("SELECT rolcanlogin FROM pg_roles WHERE rolname = :r"),
                                 {"r": role}).scalar_one()
    assert owner == role
    assert can_login is True


def test_compose_init_migrates_both_databases_sets_the_admin_and_writes_connections(
        make_database, tmp_path: Path) -> None:
    from cryptography.fernet import Fernet

    metadata_url = make_database("airflow_meta")
    vbotflow_url = make_database("integration")
    fernet_key = base64.urlsafe_b64encode(os.urandom(32)).decode()
    passwords_file = tmp_path / "auth" / "passwords.json"
    passwords_file.parent.mkdir()
    env = clean_env(
        AIRFLOW_HOME=str(tmp_path / "airflow"),
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=metadata_url,
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC=metadata_url.replace("+psycopg://", "+psycopg_async://"),
        AIRFLOW__CORE__FERNET_KEY=fernet_key,
        AIRFLOW__CORE__LOAD_EXAMPLES="false",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(passwords_file),
        AIRFLOW_ADMIN_USER="ops-admin",
        AIRFLOW_ADMIN_PASSWORD="admin-marker-5521",
        VBOTFLOW_DB_URL=vbotflow_url,
        CRM_DB_URL="postgresql+psycopg://crm:crm-marker-8812@crm.example.vn:5432/crm",
        VBOT_BASE_URL="https://api.vbot.vn",
        VBOT_USERNAME="ops@example.vn",
        VBOT_PASSWORD="vbot-marker-1209",
        VBOT_ID="44634999",
        VBOT_GROUP_CODE="PR2026",
    )
    for attempt in (1, 2):  # every `docker compose up` runs it again
        done = subprocess.run(["bash", str(SCRIPTS / "init.sh")], env=env, capture_output=True, text=True,
                              timeout=240, check=False)
        assert done.returncode == 0, f"run {attempt}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        for marker in ("admin-marker-5521", "vbot-marker-1209", "crm-marker-8812"):
            assert marker not in done.stdout + done.stderr, f"run {attempt} printed a secret"

    assert json.loads(passwords_file.read_text()) == {"ops-admin": "admin-marker-5521"}
    assert passwords_file.stat().st_mode & 0o077 == 0
    assert db.current_revision(vbotflow_url) == db.head_revision()

    engine = sa.create_engine(metadata_url)
    try:
        with engine.connect() as conn:
            rows = {r.conn_id: r for r in conn.execute(sa.text(
                "SELECT conn_id, conn_type, host, login, password, extra, is_encrypted FROM connection"))}
            assert conn.execute(sa.text("SELECT COUNT(*) FROM alembic_version")).scalar_one() == 1
    finally:
        engine.dispose()
    assert set(rows) >= {"vbot_default", "crm_db", "vbotflow_db"}
    vbot = rows["vbot_default"]
    assert (vbot.conn_type, vbot.host, vbot.login) == ("vbot", "https://api.vbot.vn", "ops@example.vn")
    # Stored encrypted with the deployment's Fernet key, never in clear.
    assert vbot.is_encrypted and "vbot-marker-1209" not in vbot.password
    fernet = Fernet(fernet_key)
    assert fernet.decrypt(vbot.password.encode()).decode() == "vbot-marker-1209"
    # Every extra the hook reads is written, so the UI's edit form shows each of them.
    assert json.loads(fernet.decrypt(vbot.extra.encode())) == {**default_extras(), "vbot_id": "44634999",
                                                              "group_code": "PR2026"}
    # The CRM's password sits in the (encrypted, masked) password field; the URL the UI shows has none.
    crm = rows["crm_db"]
    assert crm.conn_type == "sqlalchemy_url"
    crm_extra = json.loads(fernet.decrypt(crm.extra.encode()))
    assert crm_extra == {"sqlalchemy_url": "postgresql+psycopg://crm@crm.example.vn:5432/crm"}
    assert fernet.decrypt(crm.password.encode()).decode() == "crm-marker-8812"
    assert "crm-marker-8812" not in crm.extra + crm.password
