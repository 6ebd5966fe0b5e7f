"""The jobs database: retrain job lifecycle events and accepted queue submissions."""
