"""Improvement intakes: `/v1/improvements/intakes/`, process type `improvement_intake`."""
