-- results: sorted by test first, so a query for one test across many lots reads a few row groups
-- per file (Parquet min/max statistics on test_num).
COPY (
    SELECT * EXCLUDE (part_typ, test_stage, lot_id)
    FROM stdf_results(${path}, on_error := ${on_error})
    ${where}
    ORDER BY test_num, stream_index, part_index, record_index, element_index
) TO ${target} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1048576);
