-- One table of the archive: every Parquet file of ${glob}, the partition columns from the
-- directory names (always VARCHAR: a lot '0012' stays '0012'; ${null}, the directory of a missing
-- value, reads back as NULL); ${union}: true (files of different schemas, unified by name) or
-- false (every file has one schema: the ledger's archive_meta 'schema:<table>', archive/schemas.py).
CREATE OR REPLACE VIEW ${name} AS
SELECT * REPLACE (
    nullif(part_typ, ${null}) AS part_typ,
    nullif(test_stage, ${null}) AS test_stage,
    nullif(lot_id, ${null}) AS lot_id
)
FROM read_parquet(
    ${glob},
    hive_partitioning = true,
    hive_types = {'part_typ': 'VARCHAR', 'test_stage': 'VARCHAR', 'lot_id': 'VARCHAR'},
    union_by_name = ${union}
);
