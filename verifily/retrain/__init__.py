"""The retrain: its request, and its steps over one staged run directory."""
