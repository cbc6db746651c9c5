-- Consolidation across files ("cons"): every insertion of every die, and each die's final one.
--
-- A source is a set of relations named <src>parts and <src>files: in an archive the views
-- `parts` and `files` (src := ''), over files the views a caller makes, e.g.
--   CREATE VIEW parts AS FROM stdf_parts('lot*.stdf'); CREATE VIEW files AS FROM stdf_files('lot*.stdf');
-- Filters select files and parts before consolidation (product = PART_TYP, stage = TEST_COD,
-- lot, wafer, date_from/date_to on the file's START_T, inclusive dates); parts never closed by a
-- PRR are left out. Insertion order: files by START_T (then path, then stream), parts in file order.
--
-- `per` (a list, default none) adds the grouping keys the analyses group by, one g_<column> per
-- key, NULL for the keys not asked: 'product' g_part_typ, 'stage' g_test_stage, 'lot' g_lot_id
-- (also under 'wafer': a wafer id is only unique inside its lot),
-- 'wafer' g_wafer_id, 'site' g_head_num and g_site_num, 'file' g_file_path, 'tester' g_node_nam,
-- 'day' g_day and 'week' g_week (of the file's START_T). An analysis selects them as
-- `COLUMNS('^g_(.*)') AS '\1'` and groups by them.

CREATE OR REPLACE MACRO stdf_insertions(
    src := '', die_key := 'xy', per := [], product := NULL, stage := NULL, lot := NULL, wafer := NULL,
    date_from := NULL, date_to := NULL
) AS TABLE
WITH f AS (
    SELECT file_id, stream_index, file_path, start_time, node_nam
    FROM query(stdf_relation(src, 'files', product, stage, lot))
    -- the partition columns filtered here too, so that an archive reads one lot's files only
    WHERE (product IS NULL OR part_typ = product)
      AND (stage IS NULL OR test_stage = stage)
      AND (lot IS NULL OR lot_id = lot)
      AND (date_from IS NULL OR CAST(start_time AS DATE) >= CAST(date_from AS DATE))
      AND (date_to IS NULL OR CAST(start_time AS DATE) <= CAST(date_to AS DATE))
), p AS (
    SELECT p.*, f.file_path, f.start_time, f.node_nam,
           coalesce(
               stdf_die_id(die_key, p.file_id, p.wafer_index, p.wafer_id, p.x_coord, p.y_coord, p.part_id),
               'part:' || p.file_id || ':' || p.part_index
           ) AS die_id
    FROM query(stdf_relation(src, 'parts', product, stage, lot)) AS p
    JOIN f ON f.file_id = p.file_id AND f.stream_index IS NOT DISTINCT FROM p.stream_index
    WHERE p.complete
      AND (product IS NULL OR p.part_typ = product)
      AND (stage IS NULL OR p.test_stage = stage)
      AND (lot IS NULL OR p.lot_id = lot)
      AND (wafer IS NULL OR p.wafer_id = wafer)
)
SELECT *,
    CASE WHEN list_contains(per, 'product') THEN part_typ END AS g_part_typ,
    CASE WHEN list_contains(per, 'stage') THEN test_stage END AS g_test_stage,
    CASE WHEN list_contains(per, 'lot') OR list_contains(per, 'wafer') THEN lot_id END AS g_lot_id,
    CASE WHEN list_contains(per, 'wafer') THEN wafer_id END AS g_wafer_id,
    CASE WHEN list_contains(per, 'site') THEN head_num END AS g_head_num,
    CASE WHEN list_contains(per, 'site') THEN site_num END AS g_site_num,
    CASE WHEN list_contains(per, 'file') THEN file_path END AS g_file_path,
    CASE WHEN list_contains(per, 'tester') THEN node_nam END AS g_node_nam,
    CASE WHEN list_contains(per, 'day') THEN CAST(start_time AS DATE) END AS g_day,
    CASE WHEN list_contains(per, 'week') THEN CAST(date_trunc('week', start_time) AS DATE) END AS g_week,
    CAST(row_number() OVER w AS INTEGER) AS insertion,
    CAST(count(*) OVER d AS INTEGER) AS n_insertions,
    row_number() OVER w = count(*) OVER d AS is_final_lot,
    first_value(passed) OVER w AS first_pass_passed
FROM p
WINDOW
    d AS (PARTITION BY part_typ, lot_id, test_stage, die_id),
    w AS (PARTITION BY part_typ, lot_id, test_stage, die_id
          ORDER BY start_time NULLS LAST, file_path, stream_index, part_index);

-- The final insertion of each die: one row per die.
CREATE OR REPLACE MACRO stdf_dice(
    src := '', die_key := 'xy', per := [], product := NULL, stage := NULL, lot := NULL, wafer := NULL,
    date_from := NULL, date_to := NULL
) AS TABLE
SELECT * FROM stdf_insertions(
    src := src, die_key := die_key, per := per, product := product, stage := stage, lot := lot, wafer := wafer,
    date_from := date_from, date_to := date_to
)
WHERE is_final_lot;
