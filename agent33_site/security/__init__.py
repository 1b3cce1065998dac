"""Authentication, principals, scopes, permission classes and the tenant middleware."""
