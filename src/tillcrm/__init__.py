"""tillcrm: a customer-aware till for the terminal, and the reference CRM it syncs with."""

__version__ = "0.1.0"
__all__ = ["FRAME_RATE", "__version__"]

FRAME_RATE = 120
"""Screen updates a second the till asks Textual for (its default is 60), unless `TEXTUAL_FPS`
says otherwise: a scan waits for a few frames before the profile is painted, and at 60 that
wait alone missed the scan target (docs/performance.md). `tillcrm.cli.run` passes it on where
the TUI starts, so importing tillcrm (the CRM, the other commands) changes no environment."""
