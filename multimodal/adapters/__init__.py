"""Adapters: one module per provider family, all speaking the protocol in `base`."""
