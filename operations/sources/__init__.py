"""The four process sources this app owns: traces, autonomy budgets, intakes, workflow runs.

Each is a package with the same rooms as an app (domain, services, serializers, views)
plus `source.py`, its `ProcessSource` for the hub. Shared machinery: `store.py`
(indexed record storage) and `base.py` (the service and source base classes).
"""
