"""campaign_run: the outbox and registry of VBot campaigns (one row per chunk).

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campaign_run",
        sa.Column("run_key", sa.String(200), nullable=False),
        sa.Column("config_name", sa.String(100), nullable=False),
        sa.Column("logical_date", sa.Date, nullable=False),
        sa.Column("chunk_number", sa.Integer, nullable=False),
        sa.Column("template_id", sa.BigInteger, nullable=False),
        sa.Column("campaign_name", sa.String(200), nullable=False),
        sa.Column("phone_count", sa.Integer, nullable=False),
        sa.Column("payload_sha256", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("vbot_campaign_id", sa.BigInteger, nullable=True),
        sa.Column("error_code", sa.Integer, nullable=True),
        sa.Column("error_message", sa.Text, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("run_key", name="pk_campaign_run"),
        sa.CheckConstraint(
            "state IN ('pending', 'sending', 'created', 'failed', 'ambiguous')",
            name="ck_campaign_run_state_known",
        ),
        sa.UniqueConstraint("config_name", "logical_date", "chunk_number", name="uq_campaign_run_chunk"),
    )
    op.create_index("ix_campaign_run_state", "campaign_run", ["state"])
    op.create_index("ix_campaign_run_vbot_campaign_id", "campaign_run", ["vbot_campaign_id"])


def downgrade() -> None:
    op.drop_index("ix_campaign_run_vbot_campaign_id", table_name="campaign_run")
    op.drop_index("ix_campaign_run_state", table_name="campaign_run")
    op.drop_table("campaign_run")
