"""Contamination: evaluation records whose text already appears in the training data."""
