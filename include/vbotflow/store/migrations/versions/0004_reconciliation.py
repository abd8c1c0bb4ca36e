"""Reconciliation: call_attempt, contact_outcome, kpi_daily, reconcile_state; typed cost columns on webhook_event.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")
_MONEY = sa.Numeric(16, 2)


def upgrade() -> None:
    with op.batch_alter_table("webhook_event") as batch:
        batch.add_column(sa.Column("hotline", sa.String(32), nullable=True))
        batch.add_column(sa.Column("duration_seconds", sa.Integer, nullable=True))
        batch.add_column(sa.Column("postage", _MONEY, nullable=True))
        batch.add_column(sa.Column("service_charge", _MONEY, nullable=True))
        batch.add_column(sa.Column("action_log", sa.Text, nullable=True))

    op.create_table(
        "call_attempt",
        sa.Column("call_attempt_id", _ID, autoincrement=True, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("event_id", _ID, nullable=True),
        sa.Column("vbot_campaign_id", sa.BigInteger, nullable=False),
        sa.Column("phone", sa.String(32), nullable=False),
        sa.Column("called_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_code", sa.Integer, nullable=False),
        sa.Column("status_class", sa.String(16), nullable=False),
        sa.Column("disposition", sa.String(40), nullable=True),
        sa.Column("hotline", sa.String(32), nullable=True),
        sa.Column("duration_seconds", sa.Integer, nullable=False, server_default="0"),
        sa.Column("postage", _MONEY, nullable=False, server_default="0"),
        sa.Column("service_charge", _MONEY, nullable=False, server_default="0"),
        sa.Column("action_log", sa.Text, nullable=True),
        sa.Column("parsed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("call_attempt_id", name="pk_call_attempt"),
        sa.CheckConstraint("source IN ('webhook', 'history_api')", name="ck_call_attempt_source_known"),
        sa.UniqueConstraint("vbot_campaign_id", "phone", "called_at", "status_code", name="uq_call_attempt_identity"),
    )

    op.create_table(
        "contact_outcome",
        sa.Column("campaign_contact_id", _ID, nullable=False),
        sa.Column("run_key", sa.String(200), nullable=False),
        sa.Column("config_name", sa.String(100), nullable=False),
        sa.Column("logical_date", sa.Date, nullable=False),
        sa.Column("crm_contact_id", sa.String(100), nullable=False),
        sa.Column("phone", sa.String(16), nullable=False),
        sa.Column("vbot_campaign_id", sa.BigInteger, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("final_status_code", sa.Integer, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("first_called_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_called_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("talk_seconds", sa.Integer, nullable=False),
        sa.Column("postage", _MONEY, nullable=False),
        sa.Column("service_charge", _MONEY, nullable=False),
        sa.Column("total_cost", _MONEY, nullable=False),
        sa.Column("is_answered", sa.Boolean, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("campaign_contact_id", name="pk_contact_outcome"),
    )
    op.create_index("ix_contact_outcome_date_config", "contact_outcome", ["logical_date", "config_name"])
    op.create_index("ix_contact_outcome_campaign_phone", "contact_outcome", ["vbot_campaign_id", "phone"])

    op.create_table(
        "kpi_daily",
        sa.Column("report_date", sa.Date, nullable=False),
        sa.Column("config_name", sa.String(100), nullable=False),
        sa.Column("contacts", sa.Integer, nullable=False),
        sa.Column("called", sa.Integer, nullable=False),
        sa.Column("answered", sa.Integer, nullable=False),
        sa.Column("answer_rate", sa.Numeric(7, 4), nullable=True),
        sa.Column("avg_talk_seconds", sa.Numeric(10, 2), nullable=True),
        sa.Column("total_cost", _MONEY, nullable=False),
        sa.Column("not_reached", sa.Integer, nullable=False),
        sa.Column("bad_number", sa.Integer, nullable=False),
        sa.Column("routing", sa.Integer, nullable=False),
        sa.Column("account", sa.Integer, nullable=False),
        sa.Column("vbot_error", sa.Integer, nullable=False),
        sa.Column("unknown", sa.Integer, nullable=False),
        sa.Column("missing", sa.Integer, nullable=False),
        sa.Column("pending", sa.Integer, nullable=False),
        sa.Column("rejected", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("report_date", "config_name", name="pk_kpi_daily"),
    )

    op.create_table(
        "reconcile_state",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_reconcile_state"),
    )


def downgrade() -> None:
    op.drop_table("reconcile_state")
    op.drop_table("kpi_daily")
    op.drop_index("ix_contact_outcome_campaign_phone", table_name="contact_outcome")
    op.drop_index("ix_contact_outcome_date_config", table_name="contact_outcome")
    op.drop_table("contact_outcome")
    op.drop_table("call_attempt")
    with op.batch_alter_table("webhook_event") as batch:
        for column in ("action_log", "service_charge", "postage", "duration_seconds", "hotline"):
            batch.drop_column(column)
