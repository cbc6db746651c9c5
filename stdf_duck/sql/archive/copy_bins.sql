COPY (
    SELECT * EXCLUDE (part_typ, test_stage, lot_id)
    FROM stdf_bins(${path}, on_error := ${on_error})
    ${where}
    ORDER BY stream_index, bin_type, bin_num, head_num, site_num
) TO ${target} (FORMAT parquet, COMPRESSION zstd);
