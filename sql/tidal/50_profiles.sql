-- ---------------------------------------------------------------------------
-- Ranking profiles (since 0.2).  Spec format: docs/reference.md.
-- ---------------------------------------------------------------------------

CREATE TABLE tidal.profile_defs (
    name       text PRIMARY KEY,
    spec       jsonb NOT NULL,
    defined_at tidal.hlc NOT NULL
);
REVOKE ALL ON tidal.profile_defs FROM PUBLIC;

-- Built-ins, over every defined signal ("*").  Every node has them from its
-- install script, at the smallest HLC: any tidal.define_profile replaces them.
INSERT INTO tidal.profile_defs (name, spec, defined_at) VALUES
    ('popular',
     '{"terms": [{"signal": "*", "measure": "decay_score"}]}',
     tidal.hlc(0, 0, 0)),
    ('trending',
     '{"terms": [{"signal": "*", "measure": "velocity"},
                 {"signal": "*", "measure": "decay_score", "weight": 0.01}]}',
     tidal.hlc(0, 0, 0)),
    ('fresh',
     '{"freshness": {"half_life": "1 day", "weight": 1},
       "terms": [{"signal": "*", "measure": "decay_score", "weight": 0.1, "transform": "log1p"}]}',
     tidal.hlc(0, 0, 0));

CREATE VIEW tidal.profiles AS
    SELECT name, spec,
           defined_at OPERATOR(tidal.=) tidal.hlc(0, 0, 0) AS builtin,
           CASE WHEN defined_at OPERATOR(tidal.<>) tidal.hlc(0, 0, 0)
                THEN tidal.hlc_to_timestamptz(defined_at) END AS defined_at
      FROM tidal.profile_defs;
COMMENT ON VIEW tidal.profiles IS 'ranking profiles for tidal.retrieve';
GRANT SELECT ON tidal.profiles TO PUBLIC;

CREATE FUNCTION tidal.define_profile(name text, spec jsonb)
    RETURNS tidal.hlc
    AS 'MODULE_PATHNAME', 'tidal_define_profile'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION tidal.define_profile(text, jsonb) IS
    'define or replace a ranking profile: weighted signal measures and an optional freshness term';
