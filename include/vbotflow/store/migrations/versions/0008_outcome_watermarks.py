"""contact_outcome_run: per campaign run, the call attempts its outcomes already count (incremental refresh).

Also a partial index on the outcomes without attempts (``pending``/``missing``), the only rows the
clock alone can change.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_UNATTEMPTED = sa.text("attempts = 0")


def upgrade() -> None:
    op.create_table(
        "contact_outcome_run",
        sa.Column("run_key", sa.String(200), nullable=False),
        sa.Column("through_attempt_id", sa.BigInteger, nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("run_key", name="pk_contact_outcome_run"),
    )
    op.create_index("ix_contact_outcome_unattempted", "contact_outcome", ["run_key"],
                    postgresql_where=_UNATTEMPTED, sqlite_where=_UNATTEMPTED)


def downgrade() -> None:
    op.drop_index("ix_contact_outcome_unattempted", table_name="contact_outcome")
    op.drop_table("contact_outcome_run")
