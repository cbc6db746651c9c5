-- The sync ledger (DIR/_ledger/ledger.duckdb, see ledger.sql): what `stdf-duck sync` saw on each source and did with it.
-- A file's rows, once ingested, are in the table ingest under its key (see ledger.sql).
CREATE TABLE IF NOT EXISTS sync_files (
    source       VARCHAR,       -- [[sources]] name
    remote       VARCHAR,       -- path relative to the source's root ('/'-separated)
    key          VARCHAR,       -- ingest.path: the credential-free URL (the path itself for a directory)
    size         UBIGINT,       -- size on the source when last listed
    mtime_ns     BIGINT,        -- its modification time, ns since the epoch (UTC)
    mtime        TIMESTAMP,
    state        VARCHAR,       -- 'unstable' (still being written), 'downloaded', 'ingested', 'duplicate',
                                -- 'partial' (ingested up to damage), 'failed' (its content), 'error' (transfer: retried next sync), 'rejected'
    first_seen   TIMESTAMP,     -- first listed with this size and mtime (UTC)
    last_seen    TIMESTAMP,
    attempts     INTEGER,       -- transfer attempts of the last download
    downloaded   UBIGINT,       -- bytes transferred by the last download (less than size after a resume)
    error        VARCHAR,       -- one line, for failed / error / rejected / unstable
    sync_id      BIGINT,
    updated_at   TIMESTAMP
);

CREATE TABLE IF NOT EXISTS syncs (
    sync_id       BIGINT,
    source        VARCHAR,
    url           VARCHAR,      -- without credentials
    started_at    TIMESTAMP,
    finished_at   TIMESTAMP,
    status        VARCHAR,      -- 'running', 'complete', 'failures', 'interrupted', 'error', 'killed'
    error         VARCHAR,      -- the source could not be listed
    n_listed      BIGINT,
    n_unchanged   BIGINT,
    n_unstable    BIGINT,
    n_downloaded  BIGINT,
    n_ingested    BIGINT,
    n_duplicate   BIGINT,
    n_failed      BIGINT,
    n_rejected    BIGINT,
    bytes_downloaded UBIGINT,
    seconds       DOUBLE,
    pid           INTEGER,
    host          VARCHAR
);
