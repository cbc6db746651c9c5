-- Wafer maps: the data a wafer-map picture needs, the stacked map of a lot, zone and radial yield.
-- Filters and die_key as in stdf_insertions (20_dice.sql); every map is of the final dice.
-- (Inside a macro an unqualified column named like a parameter reads the parameter: such columns
-- are written qualified, e.g. t.test_key.)

-- One value per final die and test: the die's first result of the test (in record order) among
-- its results with result_valid and a finite value, for the test_key values listed in `tests`
-- (NULL or [] = every test). An MPR gives its first pin's result. The maps, trends, correlations
-- and stage pairs read a die's value of a test from here, so they all agree.
--   file_id, part_index    the die's final insertion (join key to stdf_dice / stdf_insertions)
--   test_key, rec_type, test_num, test_name, units, value, result_passed, lo_limit, hi_limit
CREATE OR REPLACE MACRO stdf_test_values(
    src := '', tests := NULL, test_key := 'number_name', per := [], die_key := 'xy',
    product := NULL, stage := NULL, lot := NULL, wafer := NULL, site := NULL, date_from := NULL,
    date_to := NULL
) AS TABLE
SELECT COLUMNS('^g_'), t.file_id, t.part_index, t.test_key AS test_key,
    arg_min(t.rec_type, t.record_index) AS rec_type,
    min(t.test_num) AS test_num,
    arg_min(t.test_name, t.record_index) AS test_name,
    arg_min(t.units, t.record_index) AS units,
    arg_min(CAST(t.result AS DOUBLE), t.record_index) AS value,
    arg_min(t.passed, t.record_index) AS result_passed,
    arg_min(CAST(t.lo_limit AS DOUBLE), t.record_index) AS lo_limit,
    arg_min(CAST(t.hi_limit AS DOUBLE), t.record_index) AS hi_limit
FROM stdf_test_results(
    src := src, test_key := test_key, per := per, die_key := die_key, final_only := true,
    tests := tests, product := product, stage := stage, lot := lot, wafer := wafer, site := site,
    date_from := date_from, date_to := date_to
) AS t
WHERE t.result_valid AND isfinite(t.result)
GROUP BY ALL;

-- What a wafer-map picture needs of each wafer (one row per product, stage, lot and wafer):
-- the WCR geometry of the wafer's files (wf_flat: the flat or notch orientation U/D/L/R;
-- center_x/center_y: the centre die; pos_x/pos_y: the direction of positive x and y, L/R and
-- U/D; die_ht/die_wid/wafr_siz in wf_units), the most frequent value over the wafer's files;
-- and the extent of its final dice (x_min..x_max, y_min..y_max), dice, good, yield.
-- A wafer without a wafer_id (no WIR) is one row per file and wafer_index.
CREATE OR REPLACE MACRO stdf_wafer_info(
    src := '', die_key := 'xy', product := NULL, stage := NULL, lot := NULL, wafer := NULL,
    date_from := NULL, date_to := NULL
) AS TABLE
WITH d AS (
    SELECT part_typ, test_stage, lot_id, wafer_id,
        CASE WHEN wafer_id IS NULL THEN file_id END AS w_file_id,
        CASE WHEN wafer_id IS NULL THEN wafer_index END AS w_wafer_index,
        count(*) AS dice, count(*) FILTER (WHERE passed) AS good,
        min(x_coord) AS x_min, max(x_coord) AS x_max, min(y_coord) AS y_min, max(y_coord) AS y_max,
        list(DISTINCT file_id) AS file_ids
    FROM stdf_dice(
        src := src, die_key := die_key, product := product, stage := stage, lot := lot, wafer := wafer,
        date_from := date_from, date_to := date_to
    )
    GROUP BY ALL
), w AS (
    SELECT d.part_typ, d.test_stage, d.lot_id, d.wafer_id, d.w_file_id, d.w_wafer_index,
        stdf_mode(histogram(g.wf_flat)) AS wf_flat, stdf_mode(histogram(g.center_x)) AS center_x,
        stdf_mode(histogram(g.center_y)) AS center_y,
        stdf_mode(histogram(g.pos_x)) AS pos_x, stdf_mode(histogram(g.pos_y)) AS pos_y,
        stdf_mode(histogram(CASE WHEN isfinite(g.die_ht) THEN g.die_ht END)) AS die_ht,
        stdf_mode(histogram(CASE WHEN isfinite(g.die_wid) THEN g.die_wid END)) AS die_wid,
        stdf_mode(histogram(CASE WHEN isfinite(g.wafr_siz) THEN g.wafr_siz END)) AS wafr_siz,
        stdf_mode(histogram(g.wf_units)) AS wf_units
    FROM d JOIN query(stdf_relation(src, 'wafers', product, stage, lot)) AS g
        ON list_contains(d.file_ids, g.file_id)
       AND g.part_typ IS NOT DISTINCT FROM d.part_typ AND g.test_stage IS NOT DISTINCT FROM d.test_stage
       AND g.lot_id IS NOT DISTINCT FROM d.lot_id
       AND (CASE WHEN d.wafer_id IS NULL THEN g.wafer_index = d.w_wafer_index ELSE g.wafer_id = d.wafer_id END)
    GROUP BY ALL
)
SELECT d.part_typ, d.test_stage, d.lot_id, d.wafer_id, d.w_file_id AS file_id, d.w_wafer_index AS wafer_index,
    d.dice, d.good, d.good / nullif(d.dice, 0) AS "yield",
    d.x_min, d.x_max, d.y_min, d.y_max,
    w.wf_flat, w.center_x, w.center_y, w.pos_x, w.pos_y, w.die_ht, w.die_wid, w.wafr_siz, w.wf_units
FROM d LEFT JOIN w
    ON w.part_typ IS NOT DISTINCT FROM d.part_typ AND w.test_stage IS NOT DISTINCT FROM d.test_stage
   AND w.lot_id IS NOT DISTINCT FROM d.lot_id AND w.wafer_id IS NOT DISTINCT FROM d.wafer_id
   AND w.w_file_id IS NOT DISTINCT FROM d.w_file_id AND w.w_wafer_index IS NOT DISTINCT FROM d.w_wafer_index
ORDER BY ALL NULLS LAST;

-- Wafer-map data: one row per final die (filter to one wafer with lot := and wafer :=) with its
-- coordinates, bins (numbers, names, P/F), pass/fail and, when `test` names a test_key of the
-- policy, the die's value of that test (stdf_test_values: first valid finite result) with its
-- limits and the result's own pass/fail. Dice without coordinates are kept (x, y NULL).
CREATE OR REPLACE MACRO stdf_wafer_map(
    src := '', test := NULL, test_key := 'number_name', die_key := 'xy', product := NULL,
    stage := NULL, lot := NULL, wafer := NULL, site := NULL, date_from := NULL, date_to := NULL
) AS TABLE
WITH d AS (
    SELECT * FROM stdf_dice(
        src := src, die_key := die_key, product := product, stage := stage, lot := lot, wafer := wafer,
        date_from := date_from, date_to := date_to
    )
    WHERE site IS NULL OR site_num = site
), v AS (
    SELECT * FROM stdf_test_values(
        src := src, tests := [test], test_key := test_key, die_key := die_key, product := product,
        stage := stage, lot := lot, wafer := wafer, site := site, date_from := date_from, date_to := date_to
    )
    WHERE test IS NOT NULL
)
SELECT d.part_typ, d.test_stage, d.lot_id, d.wafer_id, d.x_coord, d.y_coord,
    d.hard_bin, d.soft_bin, d.hbin_name, d.sbin_name, d.hbin_pf, d.sbin_pf, d.passed,
    d.head_num, d.site_num, d.part_id, d.die_id, d.n_insertions, d.first_pass_passed,
    d.file_path, d.part_index,
    test AS test_key, v.test_num, v.test_name, v.units, v.value, v.result_passed, v.lo_limit, v.hi_limit
FROM d LEFT JOIN v ON v.file_id = d.file_id AND v.part_index = d.part_index
ORDER BY d.part_typ, d.test_stage, d.lot_id, d.wafer_id, d.y_coord, d.x_coord, d.file_path, d.part_index;

-- Stacked map: per (x, y), across the wafers of each group of `per` (default: per lot), the final
-- dice at that position: n_wafers (distinct wafers), n_dice, n_pass, n_fail, fail_rate =
-- n_fail / n_dice. Dice without coordinates are left out.
CREATE OR REPLACE MACRO stdf_stacked_map(
    src := '', per := ['lot'], die_key := 'xy', product := NULL, stage := NULL, lot := NULL,
    wafer := NULL, site := NULL, date_from := NULL, date_to := NULL
) AS TABLE
SELECT COLUMNS('^g_(.*)') AS '\1', x_coord, y_coord,
    count(DISTINCT coalesce('w:' || wafer_id, 'f:' || file_id || ':' || coalesce(CAST(wafer_index AS VARCHAR), ''))) AS n_wafers,
    count(*) AS n_dice,
    count(*) FILTER (WHERE passed) AS n_pass,
    count(*) FILTER (WHERE NOT coalesce(passed, false)) AS n_fail,
    count(*) FILTER (WHERE NOT coalesce(passed, false)) / count(*) AS fail_rate
FROM stdf_dice(
    src := src, die_key := die_key, per := per, product := product, stage := stage, lot := lot,
    wafer := wafer, date_from := date_from, date_to := date_to
)
WHERE x_coord IS NOT NULL AND y_coord IS NOT NULL AND (site IS NULL OR site_num = site)
GROUP BY ALL
ORDER BY ALL NULLS LAST;

-- Each final die with coordinates and its normalized distance from its wafer's centre:
--   the wafer is (part_typ, test_stage, lot_id, wafer_id), or its file and wafer_index when it has
--   no wafer_id; its centre is the middle of its dice's extent, cx = (min x + max x) / 2,
--   cy = (min y + max y) / 2 (the WCR's CENTER_X/Y are often absent or in another frame);
--   r = sqrt((x - cx)^2 + (y - cy)^2) in die steps; r_norm = r / (the largest r of the wafer's
--   dice), 0 at the centre and 1 at the outermost die (0 when the wafer has one position).
CREATE OR REPLACE MACRO stdf_die_radius(
    src := '', per := [], die_key := 'xy', product := NULL, stage := NULL, lot := NULL,
    wafer := NULL, site := NULL, date_from := NULL, date_to := NULL
) AS TABLE
WITH d AS (
    SELECT *,
        coalesce('w:' || wafer_id, 'f:' || file_id || ':' || coalesce(CAST(wafer_index AS VARCHAR), '')) AS wafer_key
    FROM stdf_dice(
        src := src, die_key := die_key, per := per, product := product, stage := stage, lot := lot,
        wafer := wafer, date_from := date_from, date_to := date_to
    )
    WHERE x_coord IS NOT NULL AND y_coord IS NOT NULL
), c AS (
    SELECT *,
        sqrt((x_coord - (min(x_coord) OVER w + max(x_coord) OVER w) / 2.0) ** 2
           + (y_coord - (min(y_coord) OVER w + max(y_coord) OVER w) / 2.0) ** 2) AS r
    FROM d
    WINDOW w AS (PARTITION BY part_typ, test_stage, lot_id, wafer_key)
)
SELECT *, coalesce(r / nullif(max(r) OVER (PARTITION BY part_typ, test_stage, lot_id, wafer_key), 0), 0.0) AS r_norm
FROM c
WHERE site IS NULL OR site_num = site;

-- Zone yield: each die of stdf_die_radius in a ring by r_norm, in thirds of its wafer's largest
-- radius: 'center' r_norm <= 1/3, 'middle' 1/3 < r_norm <= 2/3, 'edge' r_norm > 2/3; per group
-- of `per` (default per wafer; per lot pools the lot's wafers, each zoned on its own) and zone:
-- zone_index (1, 2, 3), dice, good, yield.
CREATE OR REPLACE MACRO stdf_zone_yield(
    src := '', per := ['wafer'], die_key := 'xy', product := NULL, stage := NULL, lot := NULL,
    wafer := NULL, site := NULL, date_from := NULL, date_to := NULL
) AS TABLE
WITH d AS (
    SELECT *, CASE WHEN r_norm <= 1 / 3 THEN 1 WHEN r_norm <= 2 / 3 THEN 2 ELSE 3 END AS zone_index
    FROM stdf_die_radius(
        src := src, per := per, die_key := die_key, product := product, stage := stage, lot := lot,
        wafer := wafer, site := site, date_from := date_from, date_to := date_to
    )
)
SELECT COLUMNS('^g_(.*)') AS '\1', zone_index, ['center', 'middle', 'edge'][zone_index] AS zone,
    count(*) AS dice, count(*) FILTER (WHERE passed) AS good,
    count(*) FILTER (WHERE passed) / count(*) AS "yield"
FROM d
GROUP BY ALL
ORDER BY g_part_typ, g_test_stage, g_lot_id, g_wafer_id, g_head_num, g_site_num, g_file_path,
         g_node_nam, g_day, g_week, zone_index;

-- Radial profile: n_rings rings of equal width in r_norm (stdf_die_radius): ring i (1-based)
-- holds (i-1)/n_rings < r_norm <= i/n_rings (ring 1 also r_norm = 0); per group of `per` and
-- ring: r_lo, r_hi, dice, good, yield. Rings without dice are absent.
CREATE OR REPLACE MACRO stdf_radial(
    src := '', n_rings := 10, per := ['wafer'], die_key := 'xy', product := NULL, stage := NULL,
    lot := NULL, wafer := NULL, site := NULL, date_from := NULL, date_to := NULL
) AS TABLE
WITH d AS (
    SELECT *, CAST(greatest(ceil(r_norm * n_rings), 1) AS INTEGER) AS ring
    FROM stdf_die_radius(
        src := src, per := per, die_key := die_key, product := product, stage := stage, lot := lot,
        wafer := wafer, site := site, date_from := date_from, date_to := date_to
    )
)
SELECT COLUMNS('^g_(.*)') AS '\1', ring,
    (ring - 1) / n_rings AS r_lo, ring / n_rings AS r_hi,
    count(*) AS dice, count(*) FILTER (WHERE passed) AS good,
    count(*) FILTER (WHERE passed) / count(*) AS "yield"
FROM d
GROUP BY ALL
ORDER BY ALL NULLS LAST;
