-- One table of the archive: the rows of `scan` (scan.sql), in which `null`, the directory of a
-- missing partition value, reads back as NULL.
SELECT * REPLACE (
    nullif(part_typ, ${null}) AS part_typ,
    nullif(test_stage, ${null}) AS test_stage,
    nullif(lot_id, ${null}) AS lot_id
)
FROM ${scan}
