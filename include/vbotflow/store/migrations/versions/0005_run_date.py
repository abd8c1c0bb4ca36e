"""Rename logical_date to run_date: the columns hold the Vietnam calendar day of a campaign run.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLES = ("campaign_run", "campaign_contact", "rejected_contact", "contact_outcome")


def _rename(old: str, new: str) -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(old, new_column_name=new)


def upgrade() -> None:
    _rename("logical_date", "run_date")


def downgrade() -> None:
    _rename("run_date", "logical_date")
