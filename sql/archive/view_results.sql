-- The archive's results: the rows (results/, `scan`) joined back to what they share
-- (result_params/, `params_scan`: one row per distinct parameter set of a file), in the columns
-- and order of stdf_results. `columns`: the select list (catalog.py, from
-- _native.archive_result_columns()); `join`: JOIN, or LEFT JOIN while results files of an older
-- writer (every column on the row, no param_id) are in the archive: their rows then take their
-- own values (`coalesce(r.c, p.c)`).
SELECT ${columns}
FROM ${scan} AS r
${join} ${params_scan} AS p
    ON r.lot_id = p.lot_id AND r.test_stage = p.test_stage AND r.part_typ = p.part_typ
   AND r.file_id = p.file_id AND r.param_id = p.param_id
