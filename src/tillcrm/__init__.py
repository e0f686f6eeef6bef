"""tillcrm: a customer-aware till for the terminal, and the reference CRM it syncs with."""

__version__ = "0.1.0"
__all__ = ["__version__"]
