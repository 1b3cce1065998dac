"""Budgets as hub processes (type `autonomy_budget`, include key `budgets`, prefix `budget`)."""

from operations.sources.base import ServiceBackedSource

from .services import BudgetsService, budgets_service

budgets_source = ServiceBackedSource(
    service_class=BudgetsService, include_key="budgets", handle=budgets_service
)
