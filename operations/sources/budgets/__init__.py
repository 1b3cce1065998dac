"""Autonomy budgets: `/v1/autonomy/budgets/`, process type `autonomy_budget`."""
