"""Drop ix_contact_outcome_campaign_phone: no query reads contact_outcome by campaign and phone.

The outcomes are reached by primary key (the incremental refresh), by date and config (reports,
write-back, KPIs) or by phone alone (the erasure, which this index, led by the campaign, cannot
serve); the index was only written, a fourth index to maintain per outcome row.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_contact_outcome_campaign_phone", table_name="contact_outcome")


def downgrade() -> None:
    op.create_index("ix_contact_outcome_campaign_phone", "contact_outcome", ["vbot_campaign_id", "phone"])
