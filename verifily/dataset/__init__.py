"""Dataset artifacts: the record schema, verification, writing and ingest from tabular files."""
