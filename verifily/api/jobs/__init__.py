"""Retrain jobs: accepting them (sync or queued), finding them by either id, their records."""
