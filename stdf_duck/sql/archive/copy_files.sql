-- files: one row per stream; the context values as read from the MIR are kept as source_*
-- (the partition directories hold the --product/--stage overrides and path-safe values).
COPY (
    SELECT * EXCLUDE (part_typ, test_stage, lot_id),
           part_typ AS source_part_typ, test_stage AS source_test_stage, lot_id AS source_lot_id
    FROM ${source}
    ${where}
    ORDER BY stream_index
) TO ${target} (FORMAT parquet, COMPRESSION zstd);
