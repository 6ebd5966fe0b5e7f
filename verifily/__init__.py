"""Verifily core: dataset artifacts, run contracts, metrics and decisions. No Dagster here."""

__version__ = "0.1.0"
