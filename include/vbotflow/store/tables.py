"""Tables of the integration database (SQLAlchemy Core). Migrations create them; this mirrors them."""

from __future__ import annotations

import sqlalchemy as sa

from vbotflow.store.money import MONEY

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

CAMPAIGN_RUN_STATES = ("pending", "sending", "created", "failed", "ambiguous")

# One row per chunk of a campaign config's daily list: the outbox that makes creation exactly-once.
campaign_run = sa.Table(
    "campaign_run",
    metadata,
    sa.Column("run_key", sa.String(200), primary_key=True),
    sa.Column("config_name", sa.String(100), nullable=False),
    sa.Column("run_date", sa.Date, nullable=False),
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
    sa.CheckConstraint(f"state IN ({', '.join(repr(s) for s in CAMPAIGN_RUN_STATES)})", name="state_known"),
    sa.UniqueConstraint("config_name", "run_date", "chunk_number", name="uq_campaign_run_chunk"),
    sa.Index("ix_campaign_run_state", "state"),
    sa.Index("ix_campaign_run_vbot_campaign_id", "vbot_campaign_id"),
)

RESOLVE_VERDICTS = ("created", "not_created")
RESOLVE_CHANNELS = ("cli", "console")

# One row per verdict a person gave on an in-flight campaign run (``vbotflow campaign resolve`` or
# the console): who, when, what, and the row as it was before. No foreign key: a run resolved as
# not created is replaced when its day is built again, and its history must outlive it.
resolve_audit = sa.Table(
    "resolve_audit",
    metadata,
    sa.Column("resolve_audit_id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
              autoincrement=True),
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
    sa.CheckConstraint(f"verdict IN ({', '.join(repr(s) for s in RESOLVE_VERDICTS)})", name="verdict_known"),
    sa.CheckConstraint(f"resolved_via IN ({', '.join(repr(s) for s in RESOLVE_CHANNELS)})", name="via_known"),
    sa.Index("ix_resolve_audit_run_key", "run_key"),
)

# One row per accepted contact per campaign run (chunk): who was sent to VBot, in which campaign.
campaign_contact = sa.Table(
    "campaign_contact",
    metadata,
    sa.Column("campaign_contact_id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
              autoincrement=True),
    sa.Column("run_key", sa.String(200), sa.ForeignKey("campaign_run.run_key", ondelete="CASCADE"),
              nullable=False),
    sa.Column("config_name", sa.String(100), nullable=False),
    sa.Column("run_date", sa.Date, nullable=False),
    sa.Column("chunk_number", sa.Integer, nullable=False),
    sa.Column("crm_contact_id", sa.String(100), nullable=False),
    sa.Column("phone", sa.String(16), nullable=False),
    sa.Column("fields_json", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    # Set when an erasure or retention replaced the person's data by pseudonyms (migration 0007).
    sa.Column("deidentified_at", sa.DateTime(timezone=True), nullable=True),
    sa.UniqueConstraint("run_key", "phone", name="uq_campaign_contact_run_phone"),
    sa.Index("ix_campaign_contact_phone_created", "phone", "created_at"),
    sa.Index("ix_campaign_contact_config_date", "config_name", "run_date"),
)

# One row per extracted CRM row that was not sent, with the reason.
rejected_contact = sa.Table(
    "rejected_contact",
    metadata,
    sa.Column("rejected_contact_id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
              autoincrement=True),
    sa.Column("config_name", sa.String(100), nullable=False),
    sa.Column("run_date", sa.Date, nullable=False),
    sa.Column("crm_contact_id", sa.String(100), nullable=True),
    sa.Column("raw_phone", sa.String(64), nullable=True),
    sa.Column("phone", sa.String(16), nullable=True),
    sa.Column("reason", sa.String(40), nullable=False),
    sa.Column("detail", sa.Text, nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("deidentified_at", sa.DateTime(timezone=True), nullable=True),
    sa.Index("ix_rejected_contact_config_date", "config_name", "run_date"),
)

# One row per phone number that must not be called (opt-out, DNC list, bad number).
suppression = sa.Table(
    "suppression",
    metadata,
    sa.Column("phone", sa.String(16), primary_key=True),
    sa.Column("reason", sa.String(40), nullable=False),
    sa.Column("source", sa.String(200), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
)

# --- The webhook landing zone (migration 0003) ---

# One row per distinct delivery VBot POSTed to the receiver (raw staging): the exact body bytes as
# received, plus typed columns parsed from it. ``dedupe_key`` is unique, so a delivery sent twice
# is stored once. ``kind`` 'invalid' rows are the dead letter (``parse_error`` says why).
webhook_event = sa.Table(
    "webhook_event",
    metadata,
    sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
              autoincrement=True),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("landed_via", sa.String(8), nullable=False),
    sa.Column("endpoint", sa.String(16), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("dedupe_key", sa.String(80), nullable=False),
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
    # Auto-call typed values beyond the dedupe key (migration 0004), for set-based reconciliation.
    sa.Column("hotline", sa.String(32), nullable=True),
    sa.Column("duration_seconds", sa.Integer, nullable=True),
    sa.Column("postage", sa.Numeric(16, 2), nullable=True),
    sa.Column("service_charge", sa.Numeric(16, 2), nullable=True),
    sa.Column("action_log", sa.Text, nullable=True),
    # Set when an erasure or retention de-identified the body (migration 0007); NULL as received.
    sa.Column("deidentified_at", sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('autocall', 'call_history', 'invalid')", name="kind_known"),
    sa.CheckConstraint("landed_via IN ('http', 'spool')", name="landed_via_known"),
    sa.UniqueConstraint("dedupe_key", name="uq_webhook_event_dedupe_key"),
    sa.Index("ix_webhook_event_received_at", "received_at"),
    sa.Index("ix_webhook_event_campaign_phone", "vbot_campaign_id", "phone"),
)

# One row per distinct call-history record (2a): a delivery may carry several, and VBot may send
# the same record again inside another batch, so records are deduplicated on their own key.
webhook_call_record = sa.Table(
    "webhook_call_record",
    metadata,
    sa.Column("call_record_id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
              autoincrement=True),
    sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer, "sqlite"),
              sa.ForeignKey("webhook_event.event_id", ondelete="CASCADE"), nullable=False),
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
    sa.UniqueConstraint("dedupe_key", name="uq_webhook_call_record_dedupe_key"),
    sa.Index("ix_webhook_call_record_event_id", "event_id"),
    sa.Index("ix_webhook_call_record_called_at", "called_at"),
)

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")

# One row per call attempt VBot reports (webhook or history API), deduplicated on its identity.
call_attempt = sa.Table(
    "call_attempt",
    metadata,
    sa.Column("call_attempt_id", _ID, primary_key=True, autoincrement=True),
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
    sa.Column("postage", MONEY, nullable=False, server_default="0"),
    sa.Column("service_charge", MONEY, nullable=False, server_default="0"),
    sa.Column("action_log", sa.Text, nullable=True),
    sa.Column("parsed_at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("source IN ('webhook', 'history_api')", name="source_known"),
    sa.UniqueConstraint("vbot_campaign_id", "phone", "called_at", "status_code", name="uq_call_attempt_identity"),
)

# One row per contact per campaign (campaign_contact): what happened to it in the end.
contact_outcome = sa.Table(
    "contact_outcome",
    metadata,
    # No foreign key: the table is derived, rebuilt from campaign_contact for a date range at a time,
    # and checking a key per row was a quarter of the rebuild.
    sa.Column("campaign_contact_id", _ID, primary_key=True),
    sa.Column("run_key", sa.String(200), nullable=False),
    sa.Column("config_name", sa.String(100), nullable=False),
    sa.Column("run_date", sa.Date, nullable=False),
    sa.Column("crm_contact_id", sa.String(100), nullable=False),
    sa.Column("phone", sa.String(16), nullable=False),
    sa.Column("vbot_campaign_id", sa.BigInteger, nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("final_status_code", sa.Integer, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("first_called_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("last_called_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("talk_seconds", sa.Integer, nullable=False),
    sa.Column("postage", MONEY, nullable=False),
    sa.Column("service_charge", MONEY, nullable=False),
    sa.Column("total_cost", MONEY, nullable=False),
    sa.Column("is_answered", sa.Boolean, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_contact_outcome_date_config", "run_date", "config_name"),
    # No index on (vbot_campaign_id, phone) since migration 0009: no query reads outcomes that way.
    # The rows only the clock can change (pending → missing): a small index for the hourly refresh.
    sa.Index("ix_contact_outcome_unattempted", "run_key", postgresql_where=sa.text("attempts = 0"),
             sqlite_where=sa.text("attempts = 0")),
)

# One row per campaign run whose outcomes are built (migration 0008): they count every call attempt
# up to ``through_attempt_id``, so an incremental refresh recomputes only the contacts of later ones.
contact_outcome_run = sa.Table(
    "contact_outcome_run",
    metadata,
    sa.Column("run_key", sa.String(200), primary_key=True),
    sa.Column("through_attempt_id", sa.BigInteger, nullable=False),
    sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
)

# One row per day (of the campaign runs) and campaign config: the KPIs of the outcome report.
kpi_daily = sa.Table(
    "kpi_daily",
    metadata,
    sa.Column("report_date", sa.Date, primary_key=True),
    sa.Column("config_name", sa.String(100), primary_key=True),
    sa.Column("contacts", sa.Integer, nullable=False),
    sa.Column("called", sa.Integer, nullable=False),
    sa.Column("answered", sa.Integer, nullable=False),
    sa.Column("answer_rate", sa.Numeric(7, 4), nullable=True),
    sa.Column("avg_talk_seconds", sa.Numeric(10, 2), nullable=True),
    sa.Column("total_cost", MONEY, nullable=False),
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
)

# Named counters of the reconciliation (the webhook_event watermark).
reconcile_state = sa.Table(
    "reconcile_state",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

# --- Personal data (migration 0007) ---

PRIVACY_ACTIONS = ("erase", "retention")

# One row per erasure or retention run: when, who, and how many rows of each table it changed. The
# person is named only by a keyed hash (``subject_hash``), never by number, name or CRM id.
privacy_audit = sa.Table(
    "privacy_audit",
    metadata,
    sa.Column("audit_id", _ID, primary_key=True, autoincrement=True),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("performed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("performed_by", sa.String(200), nullable=False),
    sa.Column("subject_hash", sa.String(64), nullable=True),
    sa.Column("rows_json", sa.Text, nullable=False),
    sa.Column("files_json", sa.Text, nullable=False),
    sa.Column("detail", sa.Text, nullable=True),
    sa.CheckConstraint(f"action IN ({', '.join(repr(a) for a in PRIVACY_ACTIONS)})", name="action_known"),
    sa.Index("ix_privacy_audit_subject_hash", "subject_hash"),
)
