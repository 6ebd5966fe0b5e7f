"""Kubernetes knowledge that needs no cluster: what a step pod's status means."""
