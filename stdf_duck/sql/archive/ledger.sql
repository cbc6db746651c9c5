-- The archive database (DIR/archive.duckdb): the ingest ledger and the run history.
-- Views over the Parquet (parts, results, tests, bins, wafers, files) are created by view.sql.
CREATE TABLE IF NOT EXISTS archive_meta (key VARCHAR, value VARCHAR);

-- One row per source file (its absolute, resolved path), updated in place.
CREATE TABLE IF NOT EXISTS ingest (
    path          VARCHAR,      -- source file, absolute and resolved
    size          UBIGINT,      -- bytes on disk when ingested
    mtime         TIMESTAMP,    -- modification time when ingested (UTC)
    mtime_ns      BIGINT,       -- same, nanoseconds since the epoch (the change test)
    file_id       VARCHAR,      -- stdf_files.file_id (stable for the same content)
    content_hash  VARCHAR,      -- stdf_files.content_hash (whole decompressed stream)
    status        VARCHAR,      -- 'ok', 'failed', 'duplicate', 'committing' (a commit in progress)
    error         VARCHAR,      -- one line, for 'failed'
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
    rows_files    BIGINT,
    rows_parts    BIGINT,
    rows_results  BIGINT,
    rows_tests    BIGINT,
    rows_bins     BIGINT,
    rows_wafers   BIGINT,
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
    status       VARCHAR,       -- 'running', 'complete', 'failures', 'interrupted', 'killed'
    pid          INTEGER,
    host         VARCHAR,
    command      VARCHAR,
    n_sources    BIGINT,
    n_ok         BIGINT,
    n_unchanged  BIGINT,
    n_duplicate  BIGINT,
    n_failed     BIGINT,
    bytes_in     UBIGINT,
    seconds      DOUBLE
);
