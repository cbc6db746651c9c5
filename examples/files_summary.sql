-- One line per file (stream): what was tested, where, how big, and how it went.
-- Tables: `files` (stdf_duck.read("files", ...) registered in DuckDB).
SELECT
    file_name,
    lot_id,
    part_typ,
    test_stage,
    tstr_typ || ' / ' || node_nam AS tester,
    byte_order,
    compression,
    round(file_size / 1e6, 2) AS file_mb,
    round(stream_size / 1e6, 2) AS stream_mb,
    n_records,
    n_wafers,
    n_sites,
    n_parts,
    n_parts_final,
    round(100 * yield_final, 2) AS yield_final_pct,
    start_time,
    finish_time,
    complete
FROM files
ORDER BY file_name, stream_index;
