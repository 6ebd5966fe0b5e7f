"""Dagster resources: every outside system Verifily talks to, each with an embedded default."""
