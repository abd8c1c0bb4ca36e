"""webhook_event, webhook_call_record: every VBot delivery as received (raw staging), exactly once.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "webhook_event",
        sa.Column("event_id", _ID, autoincrement=True, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("landed_via", sa.String(8), nullable=False),
        sa.Column("endpoint", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("dedupe_key", sa.String(80), nullable=False),
        # Bytes, not text: a body that is not valid UTF-8 (or holds NUL) must still be kept as sent.
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("body_sha256", sa.String(64), nullable=False),
        sa.Column("headers_json", sa.Text, nullable=False),
        sa.Column("remote_addr", sa.String(64), nullable=True),
        sa.Column("parse_error", sa.Text, nullable=True),
        sa.Column("vbot_campaign_id", sa.BigInteger, nullable=True),
        sa.Column("phone", sa.String(32), nullable=True),
        sa.Column("called_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status_code", sa.Integer, nullable=True),
        sa.Column("record_count", sa.Integer, nullable=True),
        sa.PrimaryKeyConstraint("event_id", name="pk_webhook_event"),
        sa.CheckConstraint("kind IN ('autocall', 'call_history', 'invalid')", name="ck_webhook_event_kind_known"),
        sa.CheckConstraint("landed_via IN ('http', 'spool')", name="ck_webhook_event_landed_via_known"),
        sa.UniqueConstraint("dedupe_key", name="uq_webhook_event_dedupe_key"),
    )
    op.create_index("ix_webhook_event_received_at", "webhook_event", ["received_at"])
    op.create_index("ix_webhook_event_campaign_phone", "webhook_event", ["vbot_campaign_id", "phone"])

    op.create_table(
        "webhook_call_record",
        sa.Column("call_record_id", _ID, autoincrement=True, nullable=False),
        sa.Column("event_id", _ID, nullable=False),
        sa.Column("record_index", sa.Integer, nullable=False),
        sa.Column("dedupe_key", sa.String(80), nullable=False),
        sa.Column("called_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("hotline", sa.String(32), nullable=True),
        sa.Column("caller", sa.Text, nullable=True),
        sa.Column("callee", sa.Text, nullable=True),
        sa.Column("type_call", sa.String(32), nullable=True),
        sa.Column("disposition", sa.String(40), nullable=True),
        sa.Column("duration_seconds", sa.Integer, nullable=True),
        sa.Column("record_file", sa.Text, nullable=True),
        sa.Column("record_json", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("call_record_id", name="pk_webhook_call_record"),
        sa.ForeignKeyConstraint(["event_id"], ["webhook_event.event_id"], ondelete="CASCADE",
                                name="fk_webhook_call_record_event_id_webhook_event"),
        sa.UniqueConstraint("dedupe_key", name="uq_webhook_call_record_dedupe_key"),
    )
    op.create_index("ix_webhook_call_record_event_id", "webhook_call_record", ["event_id"])
    op.create_index("ix_webhook_call_record_called_at", "webhook_call_record", ["called_at"])


def downgrade() -> None:
    op.drop_index("ix_webhook_call_record_called_at", table_name="webhook_call_record")
    op.drop_index("ix_webhook_call_record_event_id", table_name="webhook_call_record")
    op.drop_table("webhook_call_record")
    op.drop_index("ix_webhook_event_campaign_phone", table_name="webhook_event")
    op.drop_index("ix_webhook_event_received_at", table_name="webhook_event")
    op.drop_table("webhook_event")
