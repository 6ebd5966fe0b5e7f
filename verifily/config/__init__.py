"""Configuration files and locations: models, monitors, pipeline thresholds, state directories."""
