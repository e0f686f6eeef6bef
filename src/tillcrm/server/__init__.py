"""The reference CRM service (FastAPI + SQLAlchemy Core + Alembic).

It imports only `tillcrm.domain` and `tillcrm.api`, so it can be deployed without the till.
"""
