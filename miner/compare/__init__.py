"""Comparison of real journeys with a designed map: deviations, funnel, leaks, hidden journeys, drift."""
