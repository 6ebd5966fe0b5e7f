"""Webhooks: signed JSON POSTs on every decision, promotion and approval, from an outbox."""
