-- One table of the archive: every Parquet file of ${glob}, the partition columns from the
-- directory names (always VARCHAR: a lot '0012' stays '0012'), files of older writers unified by name.
CREATE OR REPLACE VIEW ${name} AS
SELECT * FROM read_parquet(
    ${glob},
    hive_partitioning = true,
    hive_types = {'part_typ': 'VARCHAR', 'test_stage': 'VARCHAR', 'lot_id': 'VARCHAR'},
    union_by_name = true
);
