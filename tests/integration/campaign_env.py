"""An Airflow environment for running the campaign DAGs for real: CRM, integration DB, simulator."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from tests.integration.sim_http import GROUP_CODE, STATIC_TOKEN, VBOT_ID, fast_config
from vbotflow.campaigns.config import CAMPAIGNS_DIR
from vbotflow.store.db import make_engine
from vbotflow.vbot.timestamps import VIETNAM
from vbotflow_dev.demo_crm import crm_metadata, seed_crm
from vbotflow_dev.simulator.server import run_simulator_in_thread

REPO = Path(__file__).resolve().parents[2]


def today_in_vietnam() -> date:
    return datetime.now(VIETNAM).date()


@dataclass
class CampaignEnv:
    db_url: str
    crm_url: str
    sim_url: str
    campaigns_dir: Path
    var_dir: Path
    run_date: date

    def sim(self, path: str) -> Any:
        return requests.get(f"{self.sim_url}/_sim/{path}", timeout=10).json()

    def dag(self, name: str):
        from airflow.dag_processing.dagbag import DagBag

        bag = DagBag(dag_folder=str(REPO / "dags"))
        assert bag.import_errors == {}
        return bag.get_dag(f"vbot_campaign__{name}")

    def run(self, name: str, **conf: Any):
        conf.setdefault("run_date", self.run_date.isoformat())
        return self.dag(name).test(run_conf=conf)


def write_test_config(directory: Path, name: str, **changes: Any) -> Path:
    """A shipped config, with a window open all day (explicitly relaxed) so tests run at any hour."""
    doc = yaml.safe_load((CAMPAIGNS_DIR / f"{name}.yaml").read_text(encoding="utf-8"))
    doc.update({"calling_window": {"start": "00:00", "end": "23:59:59"}, "relax_legal_limits": True})
    doc.update(changes)
    path = directory / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


@contextmanager
def campaign_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_url: str, *, rows: int = 300,
                 seed: int = 11, sim_changes: dict[str, Any] | None = None) -> Iterator[CampaignEnv]:
    run_date = today_in_vietnam()
    crm_url = db_url if not db_url.startswith("sqlite") else f"sqlite:///{tmp_path / 'crm.db'}"
    seed_crm(crm_url, rows, seed=seed, today=run_date)
    campaigns_dir = tmp_path / "campaigns"
    campaigns_dir.mkdir()
    var_dir = tmp_path / "var"
    monkeypatch.setenv("VBOTFLOW_CAMPAIGNS_DIR", str(campaigns_dir))
    monkeypatch.setenv("VBOTFLOW_VAR_DIR", str(var_dir))
    monkeypatch.setenv("AIRFLOW_CONN_VBOTFLOW_DB",
                       json.dumps({"conn_type": "generic", "extra": {"sqlalchemy_url": db_url}}))
    monkeypatch.setenv("AIRFLOW_CONN_CRM_DB",
                       json.dumps({"conn_type": "generic", "extra": {"sqlalchemy_url": crm_url}}))
    with run_simulator_in_thread(fast_config(**(sim_changes or {}))) as sim_url:
        monkeypatch.setenv("AIRFLOW_CONN_VBOT_DEFAULT", json.dumps({
            "conn_type": "vbot", "host": sim_url, "password": STATIC_TOKEN,
            "extra": {"vbot_id": VBOT_ID, "group_code": GROUP_CODE, "backoff_seconds": 0.01}}))
        try:
            yield CampaignEnv(db_url, crm_url, sim_url, campaigns_dir, var_dir, run_date)
        finally:
            # On PostgreSQL the CRM shares the session's database: leave it as the migrations made it.
            engine = make_engine(crm_url)
            crm_metadata.drop_all(engine)
            engine.dispose()
            shutil.rmtree(campaigns_dir, ignore_errors=True)
