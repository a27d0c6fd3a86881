"""Tracking: events, bounces, inbound mailboxes, reports and database merges."""
