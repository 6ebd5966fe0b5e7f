"""Statistics behind a decision: the paired bootstrap and McNemar's exact test (numpy only)."""
