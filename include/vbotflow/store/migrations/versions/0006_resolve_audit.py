"""resolve_audit: every verdict a person gave on an in-flight campaign run (CLI or console).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "resolve_audit",
        sa.Column("resolve_audit_id", _ID, autoincrement=True, nullable=False),
        sa.Column("run_key", sa.String(200), nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("vbot_campaign_id", sa.BigInteger, nullable=True),
        sa.Column("state_before", sa.String(16), nullable=False),
        sa.Column("vbot_campaign_id_before", sa.BigInteger, nullable=True),
        sa.Column("error_message_before", sa.Text, nullable=True),
        sa.Column("state_after", sa.String(16), nullable=False),
        sa.Column("resolved_by", sa.String(200), nullable=False),
        sa.Column("resolved_via", sa.String(16), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("resolve_audit_id", name="pk_resolve_audit"),
        sa.CheckConstraint("verdict IN ('created', 'not_created')", name="ck_resolve_audit_verdict_known"),
        sa.CheckConstraint("resolved_via IN ('cli', 'console')", name="ck_resolve_audit_via_known"),
    )
    op.create_index("ix_resolve_audit_run_key", "resolve_audit", ["run_key"])


def downgrade() -> None:
    op.drop_index("ix_resolve_audit_run_key", table_name="resolve_audit")
    op.drop_table("resolve_audit")
