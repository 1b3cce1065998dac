"""The four process sources this app owns: traces, autonomy budgets, intakes, workflow runs.

Each is a package with the same rooms as an app (domain, services, serializers, views)
plus `source.py`, its `ProcessSource` for the hub. Shared machinery: `base.py` (the
service over one store, and the source built from it) and `base_views.py`.
"""
