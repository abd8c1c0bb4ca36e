"""Reconciliation: landed webhooks → call attempts → contact outcomes → CRM, suppression, KPIs, alerts."""
