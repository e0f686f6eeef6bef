"""API v1 routers, one module per area."""
