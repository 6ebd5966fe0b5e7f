"""Real training mode: trainers, model persistence and the metrics Verifily computes itself."""
