"""Dagster sensors: the record-count trigger, monitor gates and run-status bookkeeping."""
