-- The Parquet files of one archive table as a FROM item: `glob` the files (a glob over the
-- Hive layout), the partition columns from the directory names (always VARCHAR: a lot '0012'
-- stays '0012'); `union`: true (files of different schemas, unified by name) or false (every
-- file has one schema: the ledger's archive_meta 'schema:<table>', archive/schemas.py);
-- `options`: more read_parquet options (', allow_empty = true' for a narrowed glob, relation.sql).
read_parquet(
    ${glob},
    hive_partitioning = true,
    hive_types = {'part_typ': 'VARCHAR', 'test_stage': 'VARCHAR', 'lot_id': 'VARCHAR'},
    union_by_name = ${union}${options}
)
