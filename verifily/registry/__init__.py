"""The model registry: champion and challenger aliases, promotion, rollback, the ledger."""
