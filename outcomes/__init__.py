"""Outcome metric events, trend direction per metric, and a dashboard."""
