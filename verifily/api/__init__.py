"""The HTTP API (FastAPI): a thin shell over the core and the Dagster instance."""
