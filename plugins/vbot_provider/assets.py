"""Assets the DAGs exchange."""

from __future__ import annotations

from airflow.sdk import Asset

# Updated by every campaign DAG run that recorded campaigns; the reconciliation DAG listens to it.
CAMPAIGNS_CREATED = Asset(name="vbotflow_campaigns_created", uri="vbotflow://integration-db/campaign_run")
