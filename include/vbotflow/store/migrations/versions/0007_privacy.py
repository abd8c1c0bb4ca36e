"""Personal data: the privacy_audit table; deidentified_at on contacts, rejects and webhook events.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")
MARKED_TABLES = ("campaign_contact", "rejected_contact", "webhook_event")


def upgrade() -> None:
    for table in MARKED_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("deidentified_at", sa.DateTime(timezone=True), nullable=True))

    op.create_table(
        "privacy_audit",
        sa.Column("audit_id", _ID, autoincrement=True, nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("performed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("performed_by", sa.String(200), nullable=False),
        sa.Column("subject_hash", sa.String(64), nullable=True),
        sa.Column("rows_json", sa.Text, nullable=False),
        sa.Column("files_json", sa.Text, nullable=False),
        sa.Column("detail", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("audit_id", name="pk_privacy_audit"),
        sa.CheckConstraint("action IN ('erase', 'retention')", name="ck_privacy_audit_action_known"),
    )
    op.create_index("ix_privacy_audit_subject_hash", "privacy_audit", ["subject_hash"])


def downgrade() -> None:
    op.drop_index("ix_privacy_audit_subject_hash", table_name="privacy_audit")
    op.drop_table("privacy_audit")
    for table in MARKED_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("deidentified_at")
