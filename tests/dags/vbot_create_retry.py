"""A test-only DAG: one campaign created through the outbox, with Airflow retries.

Its connections (``vbot_retry_test``, ``vbotflow_db``) are set by the test through the environment.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import DAG

from vbot_provider.operators.vbot import VBotCreateCampaignOperator

with DAG("test_vbot_create_retry", schedule=None, start_date=datetime(2026, 1, 1, tzinfo=UTC), catchup=False,
         tags=["test"]) as dag:
    VBotCreateCampaignOperator(
        task_id="create",
        config_name="nhac_no",
        chunk_number=1,
        template_id=2932,
        # Runs without a logical date (Airflow 3 allows them) have no ds_nodash.
        campaign_name="nhac_no_{{ (dag_run.logical_date or dag_run.run_after).strftime('%Y%m%d') }}_1",
        contacts=[{"phone": "0912345678", "name": "Lê Văn Cường"}],
        vbot_conn_id="vbot_retry_test",
        retries=2,
        retry_delay=timedelta(seconds=0),
    )
