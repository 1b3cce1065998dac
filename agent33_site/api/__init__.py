"""Pieces every app's API shares: the error handler, schema hooks, health views."""
