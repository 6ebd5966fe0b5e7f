"""Retrain jobs as Dagster runs: submitting, the background submitter, the job records."""
