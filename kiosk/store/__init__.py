"""SQLite persistence: schema, migrations, atomic helpers, retention."""

from kiosk.store.db import StoreError, audit, bump_statistic, connect, migrate, transaction, utc_now

__all__ = ["StoreError", "audit", "bump_statistic", "connect", "migrate", "transaction", "utc_now"]
