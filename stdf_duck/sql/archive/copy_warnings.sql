-- warnings: the tolerance decisions and the damage (stdf_warnings) of one source file, named as
-- the ledger names it (its path, or the URL a sync took it from). A source file's warnings are
-- written with its first partition (they have no stream_index); ${where} is empty there and
-- `WHERE false` for its other partitions and for a file without any warning (no second read).
COPY (
    SELECT file_id, ${key} AS path, record_index, byte_offset, code, message
    FROM stdf_warnings(${path}, on_error := ${on_error})
    ${where}
    ORDER BY byte_offset NULLS LAST, record_index
) TO ${target} (FORMAT parquet, COMPRESSION zstd);
