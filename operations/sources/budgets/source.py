"""Budgets as hub processes (type `autonomy_budget`, include key `budgets`, prefix `budget`)."""

from operations.sources.base import ServiceBackedSource

from .services import get_budgets_service

budgets_source = ServiceBackedSource(
    process_type="autonomy_budget",
    include_key="budgets",
    id_prefix="budget",
    get_service=get_budgets_service,
)
