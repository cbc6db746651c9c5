COPY (
    SELECT * EXCLUDE (part_typ, test_stage, lot_id)
    FROM stdf_tests(${path}, on_error := ${on_error})
    ${where}
    ORDER BY stream_index, test_num, test_id
) TO ${target} (FORMAT parquet, COMPRESSION zstd);
