COPY (
    SELECT * EXCLUDE (part_typ, test_stage, lot_id)
    FROM stdf_wafers(${path}, on_error := ${on_error})
    ${where}
    ORDER BY stream_index, wafer_index
) TO ${target} (FORMAT parquet, COMPRESSION zstd);
