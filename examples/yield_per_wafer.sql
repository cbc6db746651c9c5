-- Yield per wafer: every insertion, and final (last insertion of each die, after re-probes).
-- Tables: `parts`.
SELECT
    lot_id,
    wafer_id,
    count(*) AS insertions,
    count(*) FILTER (retest_index > 0) AS reprobes,
    count(*) FILTER (is_final) AS dice,
    count(*) FILTER (is_final AND passed) AS good_final,
    round(100.0 * count(*) FILTER (passed) / count(*), 2) AS yield_all_pct,
    round(100.0 * count(*) FILTER (is_final AND passed) / count(*) FILTER (is_final), 2) AS yield_final_pct
FROM parts
WHERE complete
GROUP BY ALL
ORDER BY lot_id, wafer_id;
