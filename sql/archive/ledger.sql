-- The ledger (DIR/_ledger/ledger.duckdb, opened by writers only): the ingest ledger and the run
-- history. Readers see a copy, in each DIR/archive.duckdb the writers publish (stdf_duck/catalog.py).
CREATE TABLE IF NOT EXISTS archive_meta (key VARCHAR, value VARCHAR);

-- One row per source file (its absolute, resolved path), updated in place.
CREATE TABLE IF NOT EXISTS ingest (
    path          VARCHAR,      -- source file, absolute and resolved
    size          UBIGINT,      -- bytes on disk when ingested
    mtime         TIMESTAMP,    -- modification time when ingested (UTC)
    mtime_ns      BIGINT,       -- same, nanoseconds since the epoch (the change test)
    file_id       VARCHAR,      -- stdf_files.file_id (stable for the same content)
    content_hash  VARCHAR,      -- stdf_files.content_hash (whole decompressed stream)
    status        VARCHAR,      -- 'ok', 'partial' (its rows up to the damage are in), 'failed', 'duplicate',
                                -- 'stale' (a duplicate of content now gone), 'committing' (a commit in progress)
    error         VARCHAR,      -- one line, for 'failed'
    damage        VARCHAR,      -- one line, for 'partial': where and how the decode ended (see the warnings view)
    duplicate_of  VARCHAR,      -- for 'duplicate': the path whose rows are in the archive
    product       VARCHAR,      -- --product given (NULL: from the MIR)
    stage         VARCHAR,      -- --stage given (NULL: from the MIR)
    on_error      VARCHAR,      -- 'raise' or 'warn'
    part_typ      VARCHAR,      -- partition values written (first stream)
    test_stage    VARCHAR,
    lot_id        VARCHAR,
    n_streams     INTEGER,
    stream_size   UBIGINT,      -- decompressed bytes
    n_warnings    BIGINT,
    ${row_columns}            -- rows_<table> BIGINT, one per archive table (layout.ARCHIVE_TABLES)
    outputs       VARCHAR[],    -- Parquet files of this source, relative to the archive directory
    staged        VARCHAR[],    -- while 'committing': temporary files, renamed to `outputs` in order
    replaced      VARCHAR[],    -- while 'committing': previous outputs to delete
    seconds       DOUBLE,       -- time to write its Parquet files
    started_at    TIMESTAMP,    -- UTC
    finished_at   TIMESTAMP,    -- UTC
    run_id        BIGINT,
    writer        VARCHAR       -- stdf_duck version and route ('native' / 'rewrite')
);

CREATE TABLE IF NOT EXISTS runs (
    run_id       BIGINT,
    started_at   TIMESTAMP,
    finished_at  TIMESTAMP,
    status       VARCHAR,       -- 'running', 'complete', 'failures' (a file failed or was partial), 'interrupted', 'killed'
    pid          INTEGER,
    host         VARCHAR,
    command      VARCHAR,
    n_sources    BIGINT,
    n_ok         BIGINT,
    n_unchanged  BIGINT,
    n_duplicate  BIGINT,
    n_failed     BIGINT,
    n_partial    BIGINT,
    n_skipped    BIGINT,       -- failed before with the same size and mtime: not read again
    bytes_in     UBIGINT,
    seconds      DOUBLE
);
