"""MLflow tracking: where it goes, and one MLflow run per retrain."""
