"""Pending approvals: a person takes the decision INVESTIGATE (or a held SHIP) asks for."""
