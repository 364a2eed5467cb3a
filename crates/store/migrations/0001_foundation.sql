-- Portable SQL: this schema must also run on PostgreSQL (multi-node mode comes later).
-- Times are milliseconds since the Unix epoch; money is integer micro-dollars.

CREATE TABLE accounts (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    balance       BIGINT,            -- NULL = unlimited
    session_limit INTEGER,           -- NULL = the pool's capacity
    rate_limit    INTEGER,           -- POSTs per minute on /start/*; NULL or 0 = unlimited
    active        BOOLEAN NOT NULL DEFAULT TRUE,
    created_at    BIGINT NOT NULL
);

CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    key_hash    TEXT NOT NULL UNIQUE,  -- hex SHA-256 of the key; the key itself is never stored
    prefix      TEXT NOT NULL,         -- first characters, for display only
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT,
    revoked_at  BIGINT
);

CREATE TABLE sessions (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    state       TEXT NOT NULL,
    node        TEXT NOT NULL,
    options     TEXT NOT NULL,         -- JSON, secrets redacted
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    ended_at    BIGINT,
    end_reason  TEXT
);
CREATE INDEX sessions_account ON sessions(account_id, created_at);
CREATE INDEX sessions_ended ON sessions(ended_at);

CREATE TABLE tasks (
    id          TEXT PRIMARY KEY,
    session_id  TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    account_id  TEXT NOT NULL,
    status      TEXT NOT NULL,
    options     TEXT NOT NULL,         -- JSON, secrets redacted
    outcome     TEXT,                  -- JSON: result data or error envelope
    prompt_tokens     BIGINT NOT NULL DEFAULT 0,
    completion_tokens BIGINT NOT NULL DEFAULT 0,
    working_ms        BIGINT NOT NULL DEFAULT 0,
    cost              BIGINT NOT NULL DEFAULT 0,
    steps             INTEGER NOT NULL DEFAULT 0,
    reserved    BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    ended_at    BIGINT
);
CREATE INDEX tasks_session ON tasks(session_id, created_at);

CREATE TABLE events (
    session_id  TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    seq         BIGINT NOT NULL,
    task_id     TEXT,
    kind        TEXT NOT NULL,
    payload     TEXT NOT NULL,         -- JSON, never holds secret values
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (session_id, seq)
);
