"""Staff console: admin-style pages over the three apps' services (contract §2 staff access)."""
