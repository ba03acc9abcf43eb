"""The lobby database's schema, versioned, and the kiosk role's exact privileges.

Everything lives in the schema `lobby`. Kiosks never write a table directly:
they may SELECT (status, reports: nothing in it is personal) and EXECUTE four
SECURITY DEFINER functions, each of which binds the kiosk id it is given to the
database role that first used it (`session_user`), so a kiosk can take numbers,
settle (use or void) its own, publish its own statistics and heartbeat — and
nothing else. Decision 0072 lists the GRANTs; `tests/e2e/lobby/test_security.py`
tries everything else and expects a refusal.

Append new versions at the end; never edit one that has shipped.
"""

from __future__ import annotations

KIOSK_ROLE = "lobby_kiosk"  # the group role every kiosk's login role is a member of
LOCK_KEY = 7_014_001  # pg_advisory_xact_lock: one `kiosk lobby init` at a time

_V1 = r"""
CREATE SCHEMA lobby;

CREATE TABLE lobby.schema_version (
    version integer PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
);

-- One row per kiosk per facility; db_role is the login that owns the kiosk id.
CREATE TABLE lobby.kiosks (
    facility text NOT NULL CHECK (facility ~ '^[0-9A-Z]{5}$'),
    kiosk_id text NOT NULL CHECK (kiosk_id ~ '^[A-Za-z0-9._-]{1,64}$'),
    db_role name NOT NULL,
    first_seen timestamptz NOT NULL DEFAULT now(),
    last_heartbeat timestamptz,
    version text CHECK (length(version) <= 40),
    PRIMARY KEY (facility, kiosk_id)
);

CREATE TABLE lobby.queue_counters (
    facility text NOT NULL,
    department text NOT NULL,
    day date NOT NULL,          -- the facility-local day
    last_seq integer NOT NULL,
    PRIMARY KEY (facility, department, day)
);

-- Every number ever taken: 'taken' until its kiosk settles it, then 'used' (a
-- registration holds it) or 'void' (the kiosk died before storing it).
-- reg_ref is the kiosk's random registration id: no personal data fits in it.
CREATE TABLE lobby.queue_numbers (
    facility text NOT NULL,
    department text NOT NULL CHECK (length(department) <= 64),
    day date NOT NULL,
    seq integer NOT NULL CHECK (seq > 0),
    kiosk_id text NOT NULL,
    reg_ref text NOT NULL CHECK (reg_ref ~ '^[0-9a-f]{32}$'),
    taken_at timestamptz NOT NULL DEFAULT now(),
    state text NOT NULL DEFAULT 'taken' CHECK (state IN ('taken', 'used', 'void')),
    settled_at timestamptz,
    PRIMARY KEY (facility, department, day, seq),
    UNIQUE (facility, reg_ref),
    FOREIGN KEY (facility, kiosk_id) REFERENCES lobby.kiosks
);
CREATE INDEX queue_numbers_unsettled ON lobby.queue_numbers (facility, kiosk_id)
    WHERE state = 'taken';

-- Anonymous per-day counters, absolute values per kiosk (re-publishing is a no-op).
CREATE TABLE lobby.statistics (
    facility text NOT NULL,
    kiosk_id text NOT NULL,
    day date NOT NULL,
    metric text NOT NULL CHECK (metric ~ '^[a-z0-9_.]{1,100}$'),
    value bigint NOT NULL CHECK (value >= 0),
    published_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (facility, kiosk_id, day, metric),
    FOREIGN KEY (facility, kiosk_id) REFERENCES lobby.kiosks
);

-- The caller's login must own the kiosk id (the first login to use an id owns it).
CREATE FUNCTION lobby.claim_kiosk(p_facility text, p_kiosk text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = lobby, pg_temp AS $$
DECLARE
    owner name;
BEGIN
    SELECT db_role INTO owner FROM lobby.kiosks
        WHERE facility = p_facility AND kiosk_id = p_kiosk;
    IF NOT FOUND THEN
        INSERT INTO lobby.kiosks (facility, kiosk_id, db_role)
            VALUES (p_facility, p_kiosk, session_user) ON CONFLICT DO NOTHING;
        SELECT db_role INTO owner FROM lobby.kiosks
            WHERE facility = p_facility AND kiosk_id = p_kiosk;
    END IF;
    IF owner <> session_user THEN
        RAISE EXCEPTION 'kiosk % of facility % belongs to another database role',
            p_kiosk, p_facility USING ERRCODE = '42501';
    END IF;
END $$;

-- The next number of a department's day. Idempotent per reg_ref: a kiosk that lost
-- the answer and asks again gets the same number, not a second one.
CREATE FUNCTION lobby.take_number(p_facility text, p_department text, p_day date,
                                  p_kiosk text, p_ref text) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = lobby, pg_temp AS $$
DECLARE
    n integer;
BEGIN
    PERFORM lobby.claim_kiosk(p_facility, p_kiosk);
    SELECT seq INTO n FROM lobby.queue_numbers
        WHERE facility = p_facility AND reg_ref = p_ref AND kiosk_id = p_kiosk;
    IF FOUND THEN
        RETURN n;
    END IF;
    INSERT INTO lobby.queue_counters AS c (facility, department, day, last_seq)
        VALUES (p_facility, p_department, p_day, 1)
        ON CONFLICT (facility, department, day) DO UPDATE SET last_seq = c.last_seq + 1
        RETURNING last_seq INTO n;
    INSERT INTO lobby.queue_numbers (facility, department, day, seq, kiosk_id, reg_ref)
        VALUES (p_facility, p_department, p_day, n, p_kiosk, p_ref);
    RETURN n;
END $$;

-- A kiosk settles its own numbers: used (a registration holds it; wins over an
-- earlier void) or void (taken, then the kiosk died before storing it).
CREATE FUNCTION lobby.settle_numbers(p_facility text, p_kiosk text, p_used text[],
                                     p_void text[]) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = lobby, pg_temp AS $$
DECLARE
    a integer;
    b integer;
BEGIN
    PERFORM lobby.claim_kiosk(p_facility, p_kiosk);
    UPDATE lobby.queue_numbers SET state = 'used', settled_at = now()
        WHERE facility = p_facility AND kiosk_id = p_kiosk AND reg_ref = ANY (p_used)
          AND state <> 'used';
    GET DIAGNOSTICS a = ROW_COUNT;
    UPDATE lobby.queue_numbers SET state = 'void', settled_at = now()
        WHERE facility = p_facility AND kiosk_id = p_kiosk AND reg_ref = ANY (p_void)
          AND state = 'taken';
    GET DIAGNOSTICS b = ROW_COUNT;
    RETURN a + b;
END $$;

CREATE FUNCTION lobby.heartbeat(p_facility text, p_kiosk text, p_version text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = lobby, pg_temp AS $$
BEGIN
    PERFORM lobby.claim_kiosk(p_facility, p_kiosk);
    UPDATE lobby.kiosks SET last_heartbeat = now(), version = left(p_version, 40)
        WHERE facility = p_facility AND kiosk_id = p_kiosk;
END $$;

-- Absolute counter values; GREATEST keeps a re-publication (or a replayed older
-- one) from counting twice or going backwards.
CREATE FUNCTION lobby.publish_statistics(p_facility text, p_kiosk text, p_day date,
                                         p_metrics text[], p_values bigint[])
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = lobby, pg_temp AS $$
DECLARE
    n integer;
BEGIN
    PERFORM lobby.claim_kiosk(p_facility, p_kiosk);
    INSERT INTO lobby.statistics AS s (facility, kiosk_id, day, metric, value)
        SELECT p_facility, p_kiosk, p_day, m, v FROM unnest(p_metrics, p_values) AS u(m, v)
        ON CONFLICT (facility, kiosk_id, day, metric)
        DO UPDATE SET value = GREATEST(s.value, EXCLUDED.value), published_at = now()
        WHERE EXCLUDED.value > s.value;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;

-- Least privilege: nothing for PUBLIC (functions are executable by PUBLIC by
-- default), read-only tables and four functions for kiosks.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'lobby_kiosk') THEN
        CREATE ROLE lobby_kiosk NOLOGIN;
    END IF;
END $$;
REVOKE ALL ON SCHEMA lobby FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA lobby FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA lobby FROM PUBLIC;
GRANT USAGE ON SCHEMA lobby TO lobby_kiosk;
GRANT SELECT ON lobby.schema_version, lobby.kiosks, lobby.queue_counters,
    lobby.queue_numbers, lobby.statistics TO lobby_kiosk;
GRANT EXECUTE ON FUNCTION
    lobby.take_number(text, text, date, text, text),
    lobby.settle_numbers(text, text, text[], text[]),
    lobby.heartbeat(text, text, text),
    lobby.publish_statistics(text, text, date, text[], bigint[])
    TO lobby_kiosk;
"""

MIGRATIONS: list[tuple[int, str]] = [
    (1, _V1),
]

LATEST = MIGRATIONS[-1][0]
