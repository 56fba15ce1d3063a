-- Sessions: an agent numbers its writes 1, 2, 3, ...; this node applies them
-- in seqno order, each once, holds a write that comes after a gap, and
-- applies it when the gap fills.
SET timezone = 'UTC';
SET client_min_messages = warning;
SELECT tidal.define_signal('s_view', '1 day');

-- in order: each write counts, and the mark follows
SELECT tidal.signal('s_view', 1, 1, '2026-01-01', session => 'agent-a', session_seqno => 1) IS NOT NULL AS ok;
SELECT tidal.signal('s_view', 1, 2, '2026-01-01', session => 'agent-a', session_seqno => 2) IS NOT NULL AS ok;
SELECT applied_seqno, held FROM tidal.session_status('agent-a');
SELECT tidal.decay_score(1, 's_view', '2026-01-01') AS three;

-- a retry of a seqno applied here is a no-op, whatever its arguments: it
-- returns the HLC of the write that counts and writes nothing
SELECT tidal.signal('s_view', 1, 50, '2026-01-01', session => 'agent-a', session_seqno => 2)
       = (SELECT hlc FROM tidal.idempotency_keys WHERE key LIKE '%agent-a%2') AS retry_returns_first_hlc;
SELECT tidal.decay_score(1, 's_view', '2026-01-01') AS still_three;

-- a gap: seqno 4 is logged and held, not counted, until seqno 3 arrives
SELECT tidal.signal('s_view', 1, 8, '2026-01-01', session => 'agent-a', session_seqno => 4) IS NOT NULL AS ok;
SELECT applied_seqno, held, first_held_seqno, waiting_since IS NOT NULL AS waiting
  FROM tidal.session_status('agent-a');
SELECT tidal.decay_score(1, 's_view', '2026-01-01') AS three_with_four_held;
SELECT tenant, session, applied_seqno, held, first_held_seqno FROM tidal.sessions;

-- a rebuild of the hot state counts what was counted: not the held write
SELECT tidal._reset_state();
SELECT tidal.decay_score(1, 's_view', '2026-01-01') AS three_after_rebuild;
-- and a snapshot keeps the held write aside, to count once its gap fills
SELECT tidal.seal() >= 0 AS sealed;
SELECT tidal.snapshot() > 0 AS snapshot_taken;

-- seqno 3 fills the gap: it counts, then seqno 4
SELECT tidal.signal('s_view', 1, 4, '2026-01-01', session => 'agent-a', session_seqno => 3) IS NOT NULL AS ok;
SELECT applied_seqno, held FROM tidal.session_status('agent-a');
SELECT tidal.decay_score(1, 's_view', '2026-01-01') AS fifteen;
-- the same after a rebuild from that snapshot and the log
SELECT tidal._reset_state();
SELECT tidal.decay_score(1, 's_view', '2026-01-01') AS fifteen_after_rebuild;
SELECT tidal.signal('s_view', 1, 1, '2026-01-01', session => 'agent-a', session_seqno => 4) IS NOT NULL AS retry_of_released;
SELECT tidal.decay_score(1, 's_view', '2026-01-01') AS still_fifteen;

-- a rolled-back write leaves the mark where it was
BEGIN;
SELECT tidal.signal('s_view', 2, 1, '2026-01-01', session => 'agent-a', session_seqno => 5) IS NOT NULL AS ok;
ROLLBACK;
SELECT applied_seqno FROM tidal.session_status('agent-a');

-- hides take part: one after a gap is held, then applied in order
SELECT tidal.hide_item(77, 900, session => 'agent-a', session_seqno => 6) IS NOT NULL AS ok;
SELECT tidal.is_hidden(77, 900) AS not_yet_hidden, held FROM tidal.session_status('agent-a');
SELECT tidal.signal('s_view', 2, 1, '2026-01-01', session => 'agent-a', session_seqno => 5) IS NOT NULL AS ok;
SELECT tidal.is_hidden(77, 900) AS hidden, applied_seqno FROM tidal.session_status('agent-a');
SELECT tidal.hide_item(77, 900, session => 'agent-a', session_seqno => 6) IS NULL AS hide_retry_is_a_no_op;

-- sessions are per tenant-scoped name: another session starts at 1
SELECT applied_seqno, held, last_write_at IS NULL AS unknown FROM tidal.session_status('agent-b');

-- tidal.await_session: at once when the mark is there; an error with what
-- is missing after the timeout
SELECT tidal.await_session('agent-a', 6) AS reached;
SELECT tidal.signal('s_view', 3, 1, '2026-01-01', session => 'agent-a', session_seqno => 9) IS NOT NULL AS ok;
SELECT tidal.await_session('agent-a', 9, '50 ms');
SELECT tidal.await_session('agent-a', 9, '2 hours');

-- bad input
SELECT tidal.signal('s_view', 1, session => 'agent-a');
SELECT tidal.signal('s_view', 1, session_seqno => 1);
SELECT tidal.signal('s_view', 1, session => 'agent-a', session_seqno => 0);
SELECT tidal.signal('s_view', 1, session => 'agent-a', session_seqno => 9223372036854775807);
SELECT tidal.signal('s_view', 1, session => '', session_seqno => 1);
SELECT tidal.signal('s_view', 1, session => repeat('x', 129), session_seqno => 1);
SELECT tidal.signal('s_view', 1, session => E'a\tb', session_seqno => 1);
SELECT tidal.signal('s_view', 1, idempotency_key => 'k', session => 'agent-a', session_seqno => 10);
SELECT tidal.session_status(NULL);
SELECT tidal.await_session('agent-a', NULL);
SELECT applied_seqno, held FROM tidal.session_status('agent-a');

-- an ordinary role sees its own sessions through the functions, not every
-- tenant's in tidal.sessions
CREATE ROLE tidal_session_reader;
SET ROLE tidal_session_reader;
SELECT applied_seqno FROM tidal.session_status('agent-a');
SELECT count(*) FROM tidal.sessions;
SELECT count(*) FROM tidal.session_marks;
RESET ROLE;
DROP ROLE tidal_session_reader;
