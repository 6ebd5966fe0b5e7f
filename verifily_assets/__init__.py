"""The Dagster code location: assets, asset checks, jobs and the one Definitions object."""
