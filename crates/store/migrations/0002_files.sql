-- Files the agent downloaded (and, later, files clients upload).
CREATE TABLE files (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    session_id  TEXT,
    task_id     TEXT,
    source      TEXT NOT NULL,         -- URL it came from ('' for uploads)
    filename    TEXT NOT NULL,
    path        TEXT NOT NULL,         -- where the bytes are, below the data dir
    size        BIGINT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX files_account ON files(account_id, created_at);
