-- PMO Pulse canonical model (DESIGN.md "The canonical model").
-- Times are TIMESTAMPTZ in UTC; days are bucketed in the project's time zone.
-- No PRIMARY KEY indexes on the big tables: DESIGN.md measured INSERT OR REPLACE with a key at ~3x the
-- time and ~5x the memory of keeping keys unique in the import SQL, which store/load.py does.
-- Every statement is idempotent: store/db.py runs this file on every open.

CREATE TABLE IF NOT EXISTS schema_version (version INTEGER, applied_at TIMESTAMPTZ);

CREATE TABLE IF NOT EXISTS projects (
    project_key VARCHAR PRIMARY KEY,
    name VARCHAR,
    tracker VARCHAR,
    timezone VARCHAR DEFAULT 'Asia/Shanghai',
    calendar VARCHAR DEFAULT 'CN',          -- CN / none / ISO country code for the holidays package
    size_kloc DOUBLE,
    size_fp DOUBLE,
    bac DOUBLE,
    hourly_rate DOUBLE,
    currency VARCHAR DEFAULT 'CNY'
);

CREATE TABLE IF NOT EXISTS imports (
    import_id INTEGER PRIMARY KEY,
    project_key VARCHAR,
    source_format VARCHAR,
    file_name VARCHAR,
    file_sha256 VARCHAR,
    rows BIGINT,
    imported_at TIMESTAMPTZ,
    imported_by VARCHAR,
    warnings JSON
);

CREATE TABLE IF NOT EXISTS issues (
    project_key VARCHAR NOT NULL,
    issue_key VARCHAR NOT NULL,
    title VARCHAR,
    type VARCHAR,                 -- story, task, bug, subtask, epic, requirement, change, other
    type_raw VARCHAR,
    status_raw VARCHAR,
    status_category VARCHAR,      -- todo, in_progress, done
    resolution_raw VARCHAR,
    resolution_class VARCHAR,     -- delivered, valid_not_fixed, invalid (null while unresolved)
    priority VARCHAR,
    severity VARCHAR,
    created_at TIMESTAMPTZ,
    updated_at TIMESTAMPTZ,
    done_at TIMESTAMPTZ,
    first_done_at TIMESTAMPTZ,
    due_at TIMESTAMPTZ,
    story_points DOUBLE,
    original_estimate_h DOUBLE,
    remaining_estimate_h DOUBLE,
    time_spent_h DOUBLE,
    assignee VARCHAR,
    reporter VARCHAR,
    components VARCHAR[],
    labels VARCHAR[],
    sprints VARCHAR[],
    fix_versions VARCHAR[],
    parent_key VARCHAR,
    found_phase VARCHAR,
    reopen_count INTEGER,         -- null = unknown (no history in the export), never silently 0
    first_import_id INTEGER,
    last_import_id INTEGER
);

-- The state of each issue as one export saw it: full canonical row, so that successive monthly exports
-- give history and deleting an import can restore what it overwrote.
CREATE TABLE IF NOT EXISTS issue_snapshots (
    import_id INTEGER NOT NULL,
    project_key VARCHAR NOT NULL,
    issue_key VARCHAR NOT NULL,
    title VARCHAR, type VARCHAR, type_raw VARCHAR, status_raw VARCHAR, status_category VARCHAR,
    resolution_raw VARCHAR, resolution_class VARCHAR, priority VARCHAR, severity VARCHAR,
    created_at TIMESTAMPTZ, updated_at TIMESTAMPTZ, done_at TIMESTAMPTZ, first_done_at TIMESTAMPTZ,
    due_at TIMESTAMPTZ, story_points DOUBLE, original_estimate_h DOUBLE, remaining_estimate_h DOUBLE,
    time_spent_h DOUBLE, assignee VARCHAR, reporter VARCHAR, components VARCHAR[], labels VARCHAR[],
    sprints VARCHAR[], fix_versions VARCHAR[], parent_key VARCHAR, found_phase VARCHAR,
    reopen_count INTEGER
);

CREATE TABLE IF NOT EXISTS changes (
    project_key VARCHAR NOT NULL,
    issue_key VARCHAR NOT NULL,
    changed_at TIMESTAMPTZ NOT NULL,
    field VARCHAR NOT NULL,       -- status, sprint, story_points, original_estimate_h, remaining_estimate_h, resolution
    from_value VARCHAR,
    to_value VARCHAR,
    author VARCHAR,
    import_id INTEGER
);

CREATE TABLE IF NOT EXISTS sprints (
    project_key VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    state VARCHAR,                -- future, active, closed
    start_at TIMESTAMPTZ,
    end_at TIMESTAMPTZ,           -- planned end
    completed_at TIMESTAMPTZ,
    source VARCHAR,               -- tracker | inferred | manual: where the dates came from
    import_id INTEGER,
    PRIMARY KEY (project_key, name)
);

CREATE TABLE IF NOT EXISTS worklogs (
    project_key VARCHAR NOT NULL,
    issue_key VARCHAR NOT NULL,
    started_at TIMESTAMPTZ,
    author VARCHAR,
    hours DOUBLE,
    import_id INTEGER
);

-- PMO overrides of the working calendar; the packages' defaults are computed, not stored.
CREATE TABLE IF NOT EXISTS calendar (
    day DATE PRIMARY KEY,
    is_workday BOOLEAN NOT NULL,
    note VARCHAR
);

CREATE TABLE IF NOT EXISTS targets (
    project_key VARCHAR NOT NULL,
    metric VARCHAR NOT NULL,
    valid_from DATE NOT NULL,
    green DOUBLE,
    red DOUBLE,
    direction VARCHAR,            -- higher_is_better | lower_is_better | band
    PRIMARY KEY (project_key, metric, valid_from)
);

CREATE TABLE IF NOT EXISTS metric_snapshots (
    project_key VARCHAR NOT NULL,
    month VARCHAR NOT NULL,       -- YYYY-MM
    metric VARCHAR NOT NULL,
    value DOUBLE,
    frozen_at TIMESTAMPTZ,
    frozen_by VARCHAR,
    PRIMARY KEY (project_key, month, metric)
);

CREATE SEQUENCE IF NOT EXISTS import_seq START 1;
CREATE SEQUENCE IF NOT EXISTS action_seq START 1;
CREATE TABLE IF NOT EXISTS actions (
    action_id INTEGER PRIMARY KEY DEFAULT nextval('action_seq'),
    project_key VARCHAR,
    month VARCHAR,
    metric VARCHAR,
    title VARCHAR,
    owner VARCHAR,
    due DATE,
    status VARCHAR,               -- open, in_progress, done, cancelled
    result VARCHAR,
    created_at TIMESTAMPTZ,
    closed_at TIMESTAMPTZ
);

CREATE TABLE IF NOT EXISTS milestones (
    project_key VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    baseline_date DATE,
    forecast_date DATE,
    actual_date DATE,
    acceptance_status VARCHAR,
    source VARCHAR,
    PRIMARY KEY (project_key, name)
);

CREATE TABLE IF NOT EXISTS risks (
    project_key VARCHAR NOT NULL,
    risk_id VARCHAR NOT NULL,
    title VARCHAR,
    probability DOUBLE,
    impact DOUBLE,
    owner VARCHAR,
    response VARCHAR,
    status VARCHAR,
    opened_at TIMESTAMPTZ,
    closed_at TIMESTAMPTZ,
    PRIMARY KEY (project_key, risk_id)
);

CREATE SEQUENCE IF NOT EXISTS decision_seq START 1;
CREATE TABLE IF NOT EXISTS decisions (
    decision_id INTEGER PRIMARY KEY DEFAULT nextval('decision_seq'),
    month VARCHAR,
    project_key VARCHAR,
    question VARCHAR,
    options VARCHAR,
    recommendation VARCHAR,
    requester VARCHAR,
    needed_by DATE,
    decision VARCHAR,
    decided_at TIMESTAMPTZ
);

CREATE TABLE IF NOT EXISTS rag_overrides (
    project_key VARCHAR NOT NULL,
    month VARCHAR NOT NULL,
    metric VARCHAR NOT NULL,
    computed_rag VARCHAR,
    override_rag VARCHAR,
    reason VARCHAR NOT NULL,
    "by" VARCHAR,
    "at" TIMESTAMPTZ,
    PRIMARY KEY (project_key, month, metric)
);

CREATE TABLE IF NOT EXISTS review_notes (
    project_key VARCHAR NOT NULL,
    month VARCHAR NOT NULL,
    commentary VARCHAR,
    author VARCHAR,
    updated_at TIMESTAMPTZ,
    PRIMARY KEY (project_key, month)
);

CREATE TABLE IF NOT EXISTS value_maps (
    project_key VARCHAR NOT NULL,   -- '*' = every project
    kind VARCHAR NOT NULL,          -- status, resolution, type
    raw_value VARCHAR NOT NULL,     -- compared lower-cased and trimmed
    canonical VARCHAR NOT NULL,
    PRIMARY KEY (project_key, kind, raw_value)
);

CREATE TABLE IF NOT EXISTS column_mappings (
    project_key VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    mapping JSON,
    PRIMARY KEY (project_key, name)
);

CREATE SEQUENCE IF NOT EXISTS audit_seq START 1;
CREATE TABLE IF NOT EXISTS audit_log (
    id INTEGER PRIMARY KEY DEFAULT nextval('audit_seq'),
    "at" TIMESTAMPTZ,
    "user" VARCHAR,
    role VARCHAR,
    action VARCHAR,               -- import, delete, target, action, freeze, settings
    detail JSON
);

-- Named settings with defaults (datasette's SETTINGS, kept in the database so the PMO can change them).
CREATE TABLE IF NOT EXISTS settings (
    project_key VARCHAR NOT NULL,   -- '*' = global
    name VARCHAR NOT NULL,
    value VARCHAR,
    PRIMARY KEY (project_key, name)
);

-- History from successive exports and deleting an import (store/history.py). Added in place, idempotent:
-- databases made before these columns existed get them on their next open, with NULLs that store/history.py
-- backfills (exported_at) or reads as "no other import" (also_import_ids).
-- imports.exported_at: when the export was taken = the file's max(updated_at), capped at imported_at, else
-- imported_at. Snapshots are ordered by (exported_at, import_id), never by when they were uploaded.
ALTER TABLE imports ADD COLUMN IF NOT EXISTS exported_at TIMESTAMPTZ;
-- changes / worklogs rows are kept once (deduplicated); the other imports that also contained a row are listed
-- here, so deleting the import that first brought it hands it over instead of losing it.
ALTER TABLE changes ADD COLUMN IF NOT EXISTS also_import_ids INTEGER[];
ALTER TABLE worklogs ADD COLUMN IF NOT EXISTS also_import_ids INTEGER[];
-- The sprint rows each import staged (sprints keeps only the merged result), so deleting an import can replay
-- the remaining ones and restore the values it overwrote.
CREATE TABLE IF NOT EXISTS sprint_snapshots (
    import_id INTEGER NOT NULL,
    project_key VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    state VARCHAR,
    start_at TIMESTAMPTZ,
    end_at TIMESTAMPTZ,
    completed_at TIMESTAMPTZ
);
