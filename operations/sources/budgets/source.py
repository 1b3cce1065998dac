"""Budgets as hub processes (type `autonomy_budget`, include key `budgets`, prefix `budget`)."""

from operations.sources.base import ServiceBackedSource

from .services import BudgetsService, get_budgets_service

budgets_source = ServiceBackedSource(
    process_type=BudgetsService.process_type,
    include_key="budgets",
    id_prefix=BudgetsService.id_prefix,
    get_service=get_budgets_service,
)
