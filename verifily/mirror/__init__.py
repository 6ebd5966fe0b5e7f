"""The MLflow mirror: the drainer that applies the tracking outbox to MLflow."""
