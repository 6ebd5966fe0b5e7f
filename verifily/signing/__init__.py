"""Signing: Ed25519 keys, DSSE envelopes, and where this deployment's keys come from."""
