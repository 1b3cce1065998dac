"""Agent execution traces: `/v1/traces/`, process type `trace`."""
