"""Workflow executions: `/v1/workflows/executions/`, process type `workflow`."""
