"""Observability: request ids and JSON request logs (middleware), Prometheus `/metrics`,
and the gunicorn hooks that keep multi-process metrics right (README "Metrics", "Logs and
request ids")."""
