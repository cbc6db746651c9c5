-- The files of one product, stage and lot of an archive table, as a FROM item: `scan` (scan.sql
-- over a glob narrowed to their partition directories, allow_empty) after zero rows of
-- `anchor` (a constant row of the table's columns and types, catalog.py), so that the columns are
-- the table's even when no directory matches (read_parquet then returns one column, `empty`,
-- which is dropped).
(SELECT COLUMNS(lambda c: c <> 'empty') FROM (
    SELECT * FROM (FROM ${anchor} LIMIT 0)
    UNION ALL BY NAME
    SELECT * FROM ${scan}
))
