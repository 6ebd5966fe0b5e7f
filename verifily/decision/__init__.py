"""The SHIP / DONT_SHIP / INVESTIGATE decision: its rules, its gates, its references, its text."""
