"""campaign_contact, rejected_contact, suppression: what each daily list sent, rejected, or must never call.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "campaign_contact",
        sa.Column("campaign_contact_id", _ID, autoincrement=True, nullable=False),
        sa.Column("run_key", sa.String(200), nullable=False),
        sa.Column("config_name", sa.String(100), nullable=False),
        sa.Column("logical_date", sa.Date, nullable=False),
        sa.Column("chunk_number", sa.Integer, nullable=False),
        sa.Column("crm_contact_id", sa.String(100), nullable=False),
        sa.Column("phone", sa.String(16), nullable=False),
        sa.Column("fields_json", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("campaign_contact_id", name="pk_campaign_contact"),
        sa.ForeignKeyConstraint(["run_key"], ["campaign_run.run_key"], ondelete="CASCADE",
                                name="fk_campaign_contact_run_key_campaign_run"),
        sa.UniqueConstraint("run_key", "phone", name="uq_campaign_contact_run_phone"),
    )
    op.create_index("ix_campaign_contact_phone_created", "campaign_contact", ["phone", "created_at"])
    op.create_index("ix_campaign_contact_config_date", "campaign_contact", ["config_name", "logical_date"])

    op.create_table(
        "rejected_contact",
        sa.Column("rejected_contact_id", _ID, autoincrement=True, nullable=False),
        sa.Column("config_name", sa.String(100), nullable=False),
        sa.Column("logical_date", sa.Date, nullable=False),
        sa.Column("crm_contact_id", sa.String(100), nullable=True),
        sa.Column("raw_phone", sa.String(64), nullable=True),
        sa.Column("phone", sa.String(16), nullable=True),
        sa.Column("reason", sa.String(40), nullable=False),
        sa.Column("detail", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("rejected_contact_id", name="pk_rejected_contact"),
    )
    op.create_index("ix_rejected_contact_config_date", "rejected_contact", ["config_name", "logical_date"])

    op.create_table(
        "suppression",
        sa.Column("phone", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(40), nullable=False),
        sa.Column("source", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("phone", name="pk_suppression"),
    )


def downgrade() -> None:
    op.drop_table("suppression")
    op.drop_index("ix_rejected_contact_config_date", table_name="rejected_contact")
    op.drop_table("rejected_contact")
    op.drop_index("ix_campaign_contact_config_date", table_name="campaign_contact")
    op.drop_index("ix_campaign_contact_phone_created", table_name="campaign_contact")
    op.drop_table("campaign_contact")
