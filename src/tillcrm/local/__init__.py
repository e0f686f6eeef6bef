"""The till's own SQLite database: customer cache and search, durable outbox, audit, meta.

Every write is one `BEGIN IMMEDIATE` transaction; the UI may say "saved" only after it commits.
Only one till process may write (a lock file), so the outbox's seq stays gap-free.
"""
