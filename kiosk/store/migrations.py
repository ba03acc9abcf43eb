"""Versioned schema migrations, applied in order, tracked in PRAGMA user_version.

Append new migrations at the end; never edit one that has shipped.
Personal data lives only in `registrations` (purged by retention) and
`bhxh_cache` (keyed by a hash, purged likewise); `audit` and `statistics`
hold none.
"""

from __future__ import annotations

MIGRATIONS: list[tuple[int, str]] = [
    (
        1,
        """
        CREATE TABLE registrations (
            id TEXT PRIMARY KEY,
            idempotency_key TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL,
            kiosk_id TEXT NOT NULL,
            service_code TEXT NOT NULL,
            department TEXT NOT NULL,
            queue_day TEXT NOT NULL,
            queue_seq INTEGER NOT NULL,
            queue_number TEXT NOT NULL,
            identity_source TEXT NOT NULL,
            verification TEXT NOT NULL,
            patient_key TEXT NOT NULL,          -- hash used to keep per-patient order
            id_number TEXT,
            full_name TEXT,
            date_of_birth TEXT,
            sex TEXT,
            residence TEXT,
            bhyt_card TEXT,
            insurance_outcome TEXT NOT NULL,    -- usable/warning/not_usable/not_checked/...
            insurance_code TEXT,
            insurance_json TEXT,
            recheck_state TEXT,                 -- NULL, pending, done
            printed INTEGER NOT NULL DEFAULT 0,
            print_error TEXT,
            sync_state TEXT NOT NULL DEFAULT 'pending',  -- pending/synced/failed
            his_ref TEXT,
            synced_at TEXT,
            purged_at TEXT,
            UNIQUE (department, queue_day, queue_seq)
        );
        CREATE INDEX registrations_sync ON registrations (sync_state, synced_at);

        CREATE TABLE queue_counters (
            department TEXT NOT NULL,
            day TEXT NOT NULL,
            last_seq INTEGER NOT NULL,
            PRIMARY KEY (department, day)
        );

        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            registration_id TEXT NOT NULL REFERENCES registrations(id),
            kind TEXT NOT NULL,                 -- his_register, bhyt_recheck, ...
            patient_key TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'pending',  -- pending/done/dead
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            last_error TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
        CREATE INDEX outbox_patient ON outbox (patient_key, id);

        CREATE TABLE statistics (
            day TEXT NOT NULL,
            kiosk_id TEXT NOT NULL,
            metric TEXT NOT NULL,
            value INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (day, kiosk_id, metric)
        );

        CREATE TABLE audit (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at TEXT NOT NULL,
            kiosk_id TEXT NOT NULL,
            event TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT ''     -- never personal data
        );

        CREATE TABLE bhxh_cache (
            key_hash TEXT PRIMARY KEY,
            checked_at TEXT NOT NULL,
            response_json TEXT NOT NULL
        );
        """,
    ),
    (
        2,
        """
        -- The HIS's own service list (sync daemon, hourly): rooms/names/fees it knows
        -- better than the configuration (`his.settings.use_his_catalogue`).
        CREATE TABLE his_catalogue (
            code TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            room TEXT NOT NULL,
            department TEXT NOT NULL,
            fee INTEGER,
            fetched_at TEXT NOT NULL
        );
        """,
    ),
    (
        3,
        """
        -- Where a queue number came from: 'local' (this file's counter, no lobby),
        -- 'lobby' (the shared PostgreSQL sequence) or 'offline' (issued while the lobby
        -- database was away; queue_seq is then negative so it never meets a shared one
        -- in UNIQUE (department, queue_day, queue_seq)). Decision 0071.
        ALTER TABLE registrations ADD COLUMN queue_source TEXT NOT NULL DEFAULT 'local';

        -- The statistics values last published to the lobby database, so a pass sends
        -- only what changed and a kiosk that was offline catches up.
        CREATE TABLE lobby_published (
            day TEXT NOT NULL,
            metric TEXT NOT NULL,
            value INTEGER NOT NULL,
            PRIMARY KEY (day, metric)
        );
        """,
    ),
    (
        4,
        """
        -- A follow-up appointment checked in at the kiosk (decision 0150): the HIS's
        -- appointment id (one check-in per appointment per day: the idempotency key
        -- carries it) and what the ticket shows (service, room, time, doctor). Its
        -- outbox row is `his_checkin`; department is "hen:<department>" so its own
        -- numbers never meet the walk-in queue's.
        ALTER TABLE registrations ADD COLUMN appointment_ref TEXT;
        ALTER TABLE registrations ADD COLUMN appointment_json TEXT;
        """,
    ),
    (
        5,
        """
        -- The face check's outcome (issue 29, decision 0163): {"status", "distance",
        -- "threshold", "reason"}; never an image or a descriptor. NULL: not configured.
        -- A personal field: purged with the others.
        ALTER TABLE registrations ADD COLUMN biometric_json TEXT;
        """,
    ),
]
