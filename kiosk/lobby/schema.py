"""The lobby database's schema, versioned, and the kiosk role's exact privileges.

Everything lives in the schema `lobby`. Kiosks never write a table directly:
they may SELECT (status, reports: nothing in it is personal; not the v3 holdings)
and EXECUTE a few SECURITY DEFINER functions, each of which binds the kiosk id it is
given to the database role provisioned for it (`session_user`), so a kiosk can take
numbers (once per patient and service a day, v3), settle (use or void) its own,
publish its own statistics and heartbeat — and nothing else. Decision 0072 lists
the GRANTs; `tests/e2e/lobby/test_security.py` tries everything else and expects a
refusal.

Append new versions at the end; never edit one that has shipped.
"""

from __future__ import annotations

KIOSK_ROLE = "lobby_kiosk"  # the group role every kiosk's login role is a member of
LOCK_KEY = 7_014_001  # pg_advisory_xact_lock: one `kiosk lobby init` at a time
# The bounds v2 sets (decisions 0131, 0133); the SQL below spells the same values.
STALE_AFTER_MIN = 10  # a number still 'taken' this long is voided by the server
DEFAULT_MAX_PER_MINUTE = 30  # new numbers a kiosk may take per minute
MAX_CONNECTIONS_PER_LOGIN = 10  # `add-kiosk` refuses a login allowed more (or unlimited)
SESSION_TIMEOUTS = {"statement_timeout": "5s", "lock_timeout": "1s",
                    "idle_in_transaction_session_timeout": "5s"}

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

# v2 (issue 26, decisions 0130–0133): the server's day, owner-provisioned kiosks, rate
# and size bounds, timeouts, offline tickets published, stale numbers voided.
_V2 = r"""
-- The facility's time zone: the day a number belongs to is the server's, not a kiosk's.
CREATE TABLE lobby.facilities (
    facility text PRIMARY KEY CHECK (facility ~ '^[0-9A-Z]{5}$'),
    timezone text NOT NULL CHECK (length(timezone) <= 64)
);

-- Numbers per minute a kiosk may take (fixed one-minute window, set at provisioning).
ALTER TABLE lobby.kiosks
    ADD COLUMN max_per_minute integer NOT NULL DEFAULT 30
        CHECK (max_per_minute BETWEEN 1 AND 6000),
    ADD COLUMN rate_minute timestamptz,
    ADD COLUMN rate_count integer NOT NULL DEFAULT 0;

-- 'kiosk': settled by its kiosk's sync pass; 'server': still 'taken' after 10 minutes
-- (STALE_AFTER_MIN: the kiosk died or was retired).
ALTER TABLE lobby.queue_numbers ADD COLUMN voided_by text
    CHECK (voided_by IN ('kiosk', 'server'));

-- Numbers a kiosk printed on its own while the lobby was away: their own kind (the
-- kiosk id is part of them), published when the lobby is back, never colliding with
-- a shared number (another table, another key).
CREATE TABLE lobby.offline_numbers (
    facility text NOT NULL,
    kiosk_id text NOT NULL,
    department text NOT NULL CHECK (length(department) <= 64),
    day date NOT NULL,
    seq integer NOT NULL CHECK (seq BETWEEN 1 AND 100000),
    reg_ref text NOT NULL CHECK (reg_ref ~ '^[0-9a-f]{32}$'),
    printed_at timestamptz NOT NULL,
    published_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (facility, kiosk_id, department, day, seq),
    UNIQUE (facility, reg_ref),
    FOREIGN KEY (facility, kiosk_id) REFERENCES lobby.kiosks
);

-- No first-come claiming any more: the lobby's owner provisions which login owns
-- which kiosk id (`kiosk lobby add-kiosk`). The v1 functions that call this keep
-- their signatures and grants.
CREATE OR REPLACE FUNCTION lobby.claim_kiosk(p_facility text, p_kiosk text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = lobby, pg_temp AS $$
BEGIN
    PERFORM 1 FROM lobby.kiosks
        WHERE facility = p_facility AND kiosk_id = p_kiosk AND db_role = session_user;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'kiosk % of facility % is not provisioned for login %',
            p_kiosk, p_facility, session_user USING ERRCODE = '42501',
            HINT = 'the lobby owner runs: kiosk lobby add-kiosk KIOSK_ID --login LOGIN';
    END IF;
END $$;

-- Kiosk sessions idle inside a transaction (a kiosk never is: it runs autocommit)
-- that hold what take_number waits for. Needs pg_signal_backend and
-- pg_read_all_stats for the owner (docs/deployment.md); without them it finds none
-- and the database's idle_in_transaction_session_timeout is the bound.
CREATE FUNCTION lobby.evict_idle_kiosk_sessions() RETURNS integer
LANGUAGE sql SECURITY DEFINER SET search_path = lobby, pg_temp AS $$
    -- MATERIALIZED: the filter is done before any pg_terminate_backend runs (the
    -- planner may order the quals of one WHERE as it likes)
    WITH idle AS MATERIALIZED (
        SELECT a.pid FROM pg_stat_activity a
        WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()
          AND a.state IN ('idle in transaction', 'idle in transaction (aborted)')
          AND a.state_change < clock_timestamp() - interval '50 milliseconds'
          AND pg_has_role(a.usesysid, 'lobby_kiosk', 'MEMBER'))
    SELECT count(*)::integer FROM idle WHERE pg_terminate_backend(idle.pid)
$$;

-- The next shared number of a department, for the day the SERVER's clock says it is
-- in the facility's time zone. Idempotent per reg_ref; at most max_per_minute new
-- numbers a minute per kiosk (SQLSTATE 53400 beyond); waits at most 100 ms for the
-- counter row, then evicts a kiosk session squatting on it and tries once more.
CREATE FUNCTION lobby.take_number_today(p_facility text, p_department text, p_kiosk text,
                                        p_ref text, OUT queue_day date, OUT queue_seq integer,
                                        OUT server_time timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = lobby, pg_temp
SET lock_timeout = '100ms' AS $$
DECLARE
    tz text;
    taken integer;
    allowed integer;
    this_minute timestamptz := date_trunc('minute', now());
BEGIN
    server_time := clock_timestamp();
    SELECT n.day, n.seq INTO queue_day, queue_seq FROM lobby.queue_numbers n
        WHERE n.facility = p_facility AND n.reg_ref = p_ref AND n.kiosk_id = p_kiosk
          AND n.kiosk_id IN (SELECT k.kiosk_id FROM lobby.kiosks k
                             WHERE k.facility = p_facility AND k.db_role = session_user);
    IF FOUND THEN
        RETURN;
    END IF;
    UPDATE lobby.kiosks k SET
        rate_count = CASE WHEN k.rate_minute = this_minute THEN k.rate_count + 1 ELSE 1 END,
        rate_minute = this_minute
        WHERE k.facility = p_facility AND k.kiosk_id = p_kiosk AND k.db_role = session_user
        RETURNING k.rate_count, k.max_per_minute INTO taken, allowed;
    IF NOT FOUND THEN
        PERFORM lobby.claim_kiosk(p_facility, p_kiosk);  -- raises: not this login's kiosk
    END IF;
    IF taken > allowed THEN  -- the RAISE rolls the count back: a loop stays refused
        RAISE EXCEPTION 'kiosk % took % numbers this minute, more than its limit of %',
            p_kiosk, taken - 1, allowed USING ERRCODE = '53400';
    END IF;
    SELECT f.timezone INTO tz FROM lobby.facilities f WHERE f.facility = p_facility;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'facility % has no time zone in the lobby', p_facility
            USING ERRCODE = '42501', HINT = 'the lobby owner runs: kiosk lobby add-kiosk';
    END IF;
    queue_day := (now() AT TIME ZONE tz)::date;
    BEGIN
        INSERT INTO lobby.queue_counters AS c (facility, department, day, last_seq)
            VALUES (p_facility, p_department, queue_day, 1)
            ON CONFLICT (facility, department, day) DO UPDATE SET last_seq = c.last_seq + 1
            RETURNING last_seq INTO queue_seq;
    EXCEPTION WHEN lock_not_available THEN
        PERFORM lobby.evict_idle_kiosk_sessions();
        PERFORM pg_sleep(0.02);  -- the evicted backend releases its locks as it exits
        INSERT INTO lobby.queue_counters AS c (facility, department, day, last_seq)
            VALUES (p_facility, p_department, queue_day, 1)
            ON CONFLICT (facility, department, day) DO UPDATE SET last_seq = c.last_seq + 1
            RETURNING last_seq INTO queue_seq;
    END;
    INSERT INTO lobby.queue_numbers (facility, department, day, seq, kiosk_id, reg_ref)
        VALUES (p_facility, p_department, queue_day, queue_seq, p_kiosk, p_ref);
END $$;

-- A kiosk's heartbeat also voids the facility's numbers left 'taken' for more than
-- 10 minutes (a dead kiosk's): a later 'used' from their kiosk still wins.
CREATE OR REPLACE FUNCTION lobby.heartbeat(p_facility text, p_kiosk text, p_version text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = lobby, pg_temp AS $$
BEGIN
    PERFORM lobby.claim_kiosk(p_facility, p_kiosk);
    UPDATE lobby.kiosks SET last_heartbeat = now(), version = left(p_version, 40)
        WHERE facility = p_facility AND kiosk_id = p_kiosk;
    UPDATE lobby.queue_numbers SET state = 'void', settled_at = now(), voided_by = 'server'
        WHERE facility = p_facility AND state = 'taken'
          AND taken_at < now() - interval '10 minutes';
END $$;

CREATE OR REPLACE FUNCTION lobby.settle_numbers(p_facility text, p_kiosk text,
                                                p_used text[], p_void text[])
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = lobby, pg_temp AS $$
DECLARE
    a integer;
    b integer;
BEGIN
    PERFORM lobby.claim_kiosk(p_facility, p_kiosk);
    UPDATE lobby.queue_numbers SET state = 'used', settled_at = now(), voided_by = NULL
        WHERE facility = p_facility AND kiosk_id = p_kiosk AND reg_ref = ANY (p_used)
          AND state <> 'used';
    GET DIAGNOSTICS a = ROW_COUNT;
    UPDATE lobby.queue_numbers SET state = 'void', settled_at = now(), voided_by = 'kiosk'
        WHERE facility = p_facility AND kiosk_id = p_kiosk AND reg_ref = ANY (p_void)
          AND state = 'taken';
    GET DIAGNOSTICS b = ROW_COUNT;
    RETURN a + b;
END $$;

-- Statistics: the caller's own kiosk only, days the server's clock allows (the last
-- 40 and tomorrow, for time zones), at most 100 metrics per kiosk-day, values up to
-- 1 000 000 (a kiosk serves a few thousand patients a day).
CREATE OR REPLACE FUNCTION lobby.publish_statistics(p_facility text, p_kiosk text,
                                                    p_day date, p_metrics text[],
                                                    p_values bigint[])
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = lobby, pg_temp AS $$
DECLARE
    n integer;
BEGIN
    PERFORM lobby.claim_kiosk(p_facility, p_kiosk);
    IF p_day NOT BETWEEN current_date - 40 AND current_date + 1 THEN
        RAISE EXCEPTION 'statistics for % refused: only the last 40 days', p_day
            USING ERRCODE = '22023';
    END IF;
    IF EXISTS (SELECT FROM unnest(p_values) v WHERE v > 1000000 OR v < 0) THEN
        RAISE EXCEPTION 'a statistic above 1000000 in one day is refused'
            USING ERRCODE = '22023';
    END IF;
    INSERT INTO lobby.statistics AS s (facility, kiosk_id, day, metric, value)
        SELECT p_facility, p_kiosk, p_day, m, v FROM unnest(p_metrics, p_values) AS u(m, v)
        ON CONFLICT (facility, kiosk_id, day, metric)
        DO UPDATE SET value = GREATEST(s.value, EXCLUDED.value), published_at = now()
        WHERE EXCLUDED.value > s.value;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF (SELECT count(*) FROM lobby.statistics s WHERE s.facility = p_facility
            AND s.kiosk_id = p_kiosk AND s.day = p_day) > 100 THEN
        RAISE EXCEPTION 'more than 100 metrics in one day are refused'
            USING ERRCODE = '22023';
    END IF;
    RETURN n;
END $$;

-- Offline numbers a kiosk printed, published when the lobby is back (at most 500 a
-- call; re-publishing one changes nothing).
CREATE FUNCTION lobby.publish_offline_numbers(p_facility text, p_kiosk text,
                                              p_departments text[], p_days date[],
                                              p_seqs integer[], p_refs text[],
                                              p_printed timestamptz[])
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = lobby, pg_temp AS $$
DECLARE
    n integer;
BEGIN
    PERFORM lobby.claim_kiosk(p_facility, p_kiosk);
    IF cardinality(p_refs) > 500 THEN
        RAISE EXCEPTION 'at most 500 offline numbers a call' USING ERRCODE = '22023';
    END IF;
    IF EXISTS (SELECT FROM unnest(p_days, p_printed) u(d, t)
               WHERE d NOT BETWEEN current_date - 40 AND current_date + 1
                  OR t > now() + interval '1 day') THEN
        RAISE EXCEPTION 'offline numbers outside the last 40 days are refused'
            USING ERRCODE = '22023';
    END IF;
    INSERT INTO lobby.offline_numbers (facility, kiosk_id, department, day, seq, reg_ref,
                                       printed_at)
        SELECT p_facility, p_kiosk, d, dy, s, r, t
        FROM unnest(p_departments, p_days, p_seqs, p_refs, p_printed) AS u(d, dy, s, r, t)
        ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;

REVOKE ALL ON lobby.facilities, lobby.offline_numbers FROM PUBLIC;
REVOKE ALL ON FUNCTION lobby.take_number_today(text, text, text, text),
    lobby.evict_idle_kiosk_sessions(),
    lobby.publish_offline_numbers(text, text, text[], date[], integer[], text[],
                                  timestamptz[]) FROM PUBLIC;
-- The day is the server's now: the v1 function that took a day from the kiosk goes.
REVOKE EXECUTE ON FUNCTION lobby.take_number(text, text, date, text, text) FROM lobby_kiosk;
GRANT SELECT ON lobby.facilities, lobby.offline_numbers TO lobby_kiosk;
GRANT EXECUTE ON FUNCTION lobby.take_number_today(text, text, text, text),
    lobby.publish_offline_numbers(text, text, text[], date[], integer[], text[],
                                  timestamptz[])
    TO lobby_kiosk;

-- Every session of this database (kiosks' logins among them) gets bounded statements,
-- lock waits and open transactions; `kiosk lobby init` lifts them for its own session.
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I SET statement_timeout = %L', current_database(), '5s');
    EXECUTE format('ALTER DATABASE %I SET lock_timeout = %L', current_database(), '1s');
    EXECUTE format('ALTER DATABASE %I SET idle_in_transaction_session_timeout = %L',
                   current_database(), '5s');
END $$;
"""

# v3 (issue 27, decision 0143): one patient, one number per service and day across the
# kiosks of a lobby. The lobby learns no identity: only a keyed hash the kiosks share
# the key of, valid for one day and one service, unlisted, deleted after its day.
_V3 = r"""
-- Who holds a shared number for which service today: `holder` is
-- HMAC-SHA256(lobby key, identity | facility-local day | service code), computed by
-- the kiosk; the server has no key, so it can neither reverse a holder nor link one
-- patient's holders across days or services. Kiosks cannot SELECT this table.
CREATE TABLE lobby.holdings (
    facility text NOT NULL,
    day date NOT NULL,  -- the facility-local day by the server's clock
    holder bytea NOT NULL CHECK (octet_length(holder) = 32),
    kiosk_id text NOT NULL,
    reg_ref text NOT NULL CHECK (reg_ref ~ '^[0-9a-f]{32}$'),
    PRIMARY KEY (facility, day, holder),
    FOREIGN KEY (facility, kiosk_id) REFERENCES lobby.kiosks
);

-- Lookups a kiosk may make per minute (the same fixed window and limit as numbers),
-- and how many it made in all: a kiosk probing holders stands out against its numbers.
ALTER TABLE lobby.kiosks
    ADD COLUMN lookup_minute timestamptz,
    ADD COLUMN lookup_count integer NOT NULL DEFAULT 0,
    ADD COLUMN lookups bigint NOT NULL DEFAULT 0;

-- Holdings of days gone by (the facility's day by the server's clock) go: any kiosk's
-- heartbeat (every 15 s) clears them (a holder also names its day: an old one never
-- matches, even before it is gone).
CREATE FUNCTION lobby.forget_past_holdings(p_facility text) RETURNS integer
LANGUAGE sql SECURITY DEFINER SET search_path = lobby, pg_temp AS $$
    WITH gone AS (
        DELETE FROM lobby.holdings h USING lobby.facilities f
        WHERE h.facility = p_facility AND f.facility = p_facility
          AND h.day < (now() AT TIME ZONE f.timezone)::date
        RETURNING 1)
    SELECT count(*)::integer FROM gone
$$;

-- The shared number for this patient and service today: the one a kiosk of the lobby
-- already holds for `p_holder` (held_by, held_ref: that kiosk and its registration),
-- or a new one for `p_ref` (held_by NULL), recorded under `p_holder` in the same
-- transaction, so two kiosks registering one patient at once get one number. Answers
-- only for the exact holder asked; every call counts against the kiosk's per-minute
-- limit (SQLSTATE 53400 beyond), and a miss takes a real, visible number: probing
-- costs numbers. A holding whose number was voided (its kiosk never stored it) gives
-- way to the new one.
CREATE FUNCTION lobby.take_number_once(p_facility text, p_department text, p_kiosk text,
                                       p_ref text, p_holder bytea,
                                       OUT queue_day date, OUT queue_seq integer,
                                       OUT server_time timestamptz, OUT held_by text,
                                       OUT held_ref text, OUT held_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = lobby, pg_temp
SET lock_timeout = '100ms' AS $$
DECLARE
    tz text;
    looked integer;
    allowed integer;
    this_minute timestamptz := date_trunc('minute', now());
    today date;
    held lobby.holdings%ROWTYPE;
BEGIN
    UPDATE lobby.kiosks k SET
        lookup_count = CASE WHEN k.lookup_minute = this_minute THEN k.lookup_count + 1
                            ELSE 1 END,
        lookup_minute = this_minute, lookups = k.lookups + 1
        WHERE k.facility = p_facility AND k.kiosk_id = p_kiosk AND k.db_role = session_user
        RETURNING k.lookup_count, k.max_per_minute INTO looked, allowed;
    IF NOT FOUND THEN
        PERFORM lobby.claim_kiosk(p_facility, p_kiosk);  -- raises: not this login's kiosk
    END IF;
    IF looked > allowed THEN
        RAISE EXCEPTION 'kiosk % looked up % holders this minute, more than its limit of %',
            p_kiosk, looked - 1, allowed USING ERRCODE = '53400';
    END IF;
    IF octet_length(p_holder) IS DISTINCT FROM 32 THEN
        RAISE EXCEPTION 'a holder is 32 bytes' USING ERRCODE = '22023';
    END IF;
    SELECT f.timezone INTO tz FROM lobby.facilities f WHERE f.facility = p_facility;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'facility % has no time zone in the lobby', p_facility
            USING ERRCODE = '42501', HINT = 'the lobby owner runs: kiosk lobby add-kiosk';
    END IF;
    today := (now() AT TIME ZONE tz)::date;  -- take_number_today's day: the same now()
    BEGIN
        INSERT INTO lobby.holdings (facility, day, holder, kiosk_id, reg_ref)
            VALUES (p_facility, today, p_holder, p_kiosk, p_ref) ON CONFLICT DO NOTHING;
    EXCEPTION WHEN lock_not_available THEN  -- a session squatting on this very holder
        PERFORM lobby.evict_idle_kiosk_sessions();
        PERFORM pg_sleep(0.02);
        INSERT INTO lobby.holdings (facility, day, holder, kiosk_id, reg_ref)
            VALUES (p_facility, today, p_holder, p_kiosk, p_ref) ON CONFLICT DO NOTHING;
    END;
    SELECT * INTO held FROM lobby.holdings h
        WHERE h.facility = p_facility AND h.day = today AND h.holder = p_holder;
    IF held.reg_ref <> p_ref THEN
        SELECT n.day, n.seq, n.taken_at INTO queue_day, queue_seq, held_at
            FROM lobby.queue_numbers n
            WHERE n.facility = p_facility AND n.reg_ref = held.reg_ref AND n.state <> 'void';
        IF FOUND THEN
            server_time := clock_timestamp();
            held_by := held.kiosk_id;
            held_ref := held.reg_ref;
            RETURN;
        END IF;
        -- its number was voided: the holding is stale, this registration takes over
        UPDATE lobby.holdings h SET kiosk_id = p_kiosk, reg_ref = p_ref
            WHERE h.facility = p_facility AND h.day = today AND h.holder = p_holder;
    END IF;
    SELECT t.queue_day, t.queue_seq, t.server_time INTO queue_day, queue_seq, server_time
        FROM lobby.take_number_today(p_facility, p_department, p_kiosk, p_ref) t;
END $$;

-- v2's heartbeat, and past holdings forgotten.
CREATE OR REPLACE FUNCTION lobby.heartbeat(p_facility text, p_kiosk text, p_version text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = lobby, pg_temp AS $$
BEGIN
    PERFORM lobby.claim_kiosk(p_facility, p_kiosk);
    UPDATE lobby.kiosks SET last_heartbeat = now(), version = left(p_version, 40)
        WHERE facility = p_facility AND kiosk_id = p_kiosk;
    UPDATE lobby.queue_numbers SET state = 'void', settled_at = now(), voided_by = 'server'
        WHERE facility = p_facility AND state = 'taken'
          AND taken_at < now() - interval '10 minutes';
    PERFORM lobby.forget_past_holdings(p_facility);
END $$;

REVOKE ALL ON lobby.holdings FROM PUBLIC;
REVOKE ALL ON FUNCTION lobby.forget_past_holdings(text),
    lobby.take_number_once(text, text, text, text, bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lobby.take_number_once(text, text, text, text, bytea)
    TO lobby_kiosk;
"""


# v4 (issue 26 item 7, decision 0134): a burst of kiosks no longer queues one WAL flush
# each behind the department's counter row. A number is taken in a transaction that
# commits without waiting for the flush (the row's lock goes at once); then a synchronous
# transaction rewrites the kiosk's own row and returns only once the WAL is on disk up to
# it — the take before it included (recovery replays the WAL in commit order, up to the
# last record flushed). Concurrent kiosks share those flushes (group commit) instead of
# queueing one each. `take_number_today` and `take_number_once` stay as they were.
_V4 = r"""
-- Rewrites the caller's own kiosk row unchanged, committing synchronously whatever the
-- session says: when it returns, everything this session committed before is on disk.
CREATE FUNCTION lobby.make_takes_durable(p_facility text, p_kiosk text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = lobby, pg_temp AS $$
BEGIN
    IF current_setting('synchronous_commit') = 'off' THEN
        PERFORM set_config('synchronous_commit', 'on', true);  -- until this commit
    END IF;
    UPDATE lobby.kiosks k SET rate_minute = k.rate_minute
        WHERE k.facility = p_facility AND k.kiosk_id = p_kiosk AND k.db_role = session_user;
    IF NOT FOUND THEN
        PERFORM lobby.claim_kiosk(p_facility, p_kiosk);  -- raises: not this login's kiosk
    END IF;
END $$;

-- take_number_today, then make_takes_durable, in two transactions of one CALL (a
-- procedure that commits runs as its caller: both functions check the login). A cancel
-- between them leaves a number 'taken' that was never printed: voided by the kiosk's
-- sync pass, or by the server after 10 minutes (decisions 0071, 0133).
CREATE PROCEDURE lobby.take_number_durably(p_facility text, p_department text,
                                           p_kiosk text, p_ref text,
                                           INOUT queue_day date DEFAULT NULL,
                                           INOUT queue_seq integer DEFAULT NULL,
                                           INOUT server_time timestamptz DEFAULT NULL)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_catalog.set_config('synchronous_commit', 'off', true);  -- this take only
    SELECT t.queue_day, t.queue_seq, t.server_time INTO queue_day, queue_seq, server_time
        FROM lobby.take_number_today(p_facility, p_department, p_kiosk, p_ref) t;
    COMMIT;  -- the counter row is free now; the number is not yet on disk
    PERFORM lobby.make_takes_durable(p_facility, p_kiosk);
END $$;

-- The same for take_number_once (decision 0143). A number another kiosk holds for the
-- patient is flushed too: it may have been taken a moment ago, not yet on disk.
CREATE PROCEDURE lobby.take_number_once_durably(p_facility text, p_department text,
                                                p_kiosk text, p_ref text, p_holder bytea,
                                                INOUT queue_day date DEFAULT NULL,
                                                INOUT queue_seq integer DEFAULT NULL,
                                                INOUT server_time timestamptz DEFAULT NULL,
                                                INOUT held_by text DEFAULT NULL,
                                                INOUT held_ref text DEFAULT NULL,
                                                INOUT held_at timestamptz DEFAULT NULL)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_catalog.set_config('synchronous_commit', 'off', true);  -- this take only
    SELECT t.queue_day, t.queue_seq, t.server_time, t.held_by, t.held_ref, t.held_at
        INTO queue_day, queue_seq, server_time, held_by, held_ref, held_at
        FROM lobby.take_number_once(p_facility, p_department, p_kiosk, p_ref, p_holder) t;
    COMMIT;
    PERFORM lobby.make_takes_durable(p_facility, p_kiosk);
END $$;

REVOKE ALL ON FUNCTION lobby.make_takes_durable(text, text) FROM PUBLIC;
REVOKE ALL ON PROCEDURE
    lobby.take_number_durably(text, text, text, text, date, integer, timestamptz),
    lobby.take_number_once_durably(text, text, text, text, bytea, date, integer,
                                   timestamptz, text, text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lobby.make_takes_durable(text, text) TO lobby_kiosk;
GRANT EXECUTE ON PROCEDURE
    lobby.take_number_durably(text, text, text, text, date, integer, timestamptz),
    lobby.take_number_once_durably(text, text, text, text, bytea, date, integer,
                                   timestamptz, text, text, timestamptz) TO lobby_kiosk;
"""

MIGRATIONS: list[tuple[int, str]] = [
    (1, _V1),
    (2, _V2),
    (3, _V3),
    (4, _V4),
]

LATEST = MIGRATIONS[-1][0]
