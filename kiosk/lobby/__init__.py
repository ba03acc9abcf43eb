"""What the kiosks of one lobby share, on PostgreSQL: queue numbers and anonymous
statistics (decisions 0070–0074).

Each kiosk keeps its own SQLite record and outbox as the source of truth for the
HIS; the lobby database only hands out numbers and gathers counters, and a kiosk
carries on with numbers of its own when it is away.
"""
