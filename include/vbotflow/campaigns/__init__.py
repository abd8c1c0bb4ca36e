"""Outbound: campaign configs, extract, the phone and contact transform, the day's list, the outbox,
the calling window."""
