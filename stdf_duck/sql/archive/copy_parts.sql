-- parts: wafer maps and per-wafer yield read contiguous ranges.
COPY (
    SELECT * EXCLUDE (part_typ, test_stage, lot_id)
    FROM stdf_parts(${path}, on_error := ${on_error})
    ${where}
    ORDER BY stream_index, wafer_index, part_index
) TO ${target} (FORMAT parquet, COMPRESSION zstd);
