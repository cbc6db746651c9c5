-- Trend with control limits, and correlation (test vs test, stage vs stage) of the final dice.
-- Filters, die_key and `per` as in stdf_insertions (20_dice.sql); a die's value of a test is
-- stdf_test_values' (60_wafer.sql: its first valid finite result of the test).

-- Trend: per group of `per` (default per lot) in time order (seq: groups ordered by their first
-- file's START_T, then their keys):
--   dice, good, yield                    of the group's final dice
--   n, mean, stddev (n-1)                of the dice's values of `test` (a test_key; NULL: none)
-- and control limits over the groups, as an individuals (I-MR) chart of the group statistic:
--   mean_cl = the average of the groups' means, mean_sigma = (the average moving range between
--   consecutive groups' means) / 1.128 (d2 of ranges of 2), mean_lcl/mean_ucl = mean_cl -/+ 3
--   mean_sigma; the same for yield (yield_cl, yield_sigma, yield_lcl, yield_ucl, the limits clipped
--   to 0..1: a yield cannot leave them). A group is
--   mean_ooc / yield_ooc when its statistic lies outside its limits, out_of_control when either.
--   The moving range, not the standard deviation of the groups, estimates sigma, so that one bad
--   group does not widen its own limits; with one group (or one group with a mean) there are no
--   limits. Groups without a value of the test are left out of the mean chart.
CREATE OR REPLACE MACRO stdf_trend(
    src := '', test := NULL, test_key := 'number_name', per := ['lot'], die_key := 'xy',
    product := NULL, stage := NULL, lot := NULL, wafer := NULL, site := NULL, date_from := NULL,
    date_to := NULL
) AS TABLE
WITH d AS (
    SELECT * FROM stdf_dice(
        src := src, die_key := die_key, per := per, product := product, stage := stage, lot := lot,
        wafer := wafer, date_from := date_from, date_to := date_to
    )
    WHERE site IS NULL OR site_num = site
), v AS (
    SELECT file_id, part_index, value FROM stdf_test_values(
        src := src, tests := [test], test_key := test_key, die_key := die_key, product := product,
        stage := stage, lot := lot, wafer := wafer, site := site, date_from := date_from, date_to := date_to
    )
    WHERE test IS NOT NULL
), g AS (
    SELECT COLUMNS('^g_'), min(d.start_time) AS first_start,
        count(*) AS dice, count(*) FILTER (WHERE d.passed) AS good,
        count(*) FILTER (WHERE d.passed) / count(*) AS yield_,
        count(v.value) AS n, avg(v.value) AS mean, stddev_samp(v.value) AS stddev
    FROM d LEFT JOIN v ON v.file_id = d.file_id AND v.part_index = d.part_index
    GROUP BY ALL
), s AS (
    SELECT *, row_number() OVER (ORDER BY first_start NULLS LAST, COLUMNS('^g_') NULLS LAST) AS seq
    FROM g
), m AS (
    SELECT *,
        abs(yield_ - lag(yield_) OVER (ORDER BY seq)) AS yield_mr,
        CASE WHEN mean IS NOT NULL
            THEN abs(mean - lag(mean) OVER (PARTITION BY mean IS NULL ORDER BY seq)) END AS mean_mr
    FROM s
), c AS (
    SELECT *,
        avg(mean) OVER () AS mean_cl, avg(mean_mr) OVER () / 1.128 AS mean_sigma,
        avg(yield_) OVER () AS yield_cl, avg(yield_mr) OVER () / 1.128 AS yield_sigma
    FROM m
)
SELECT COLUMNS('^g_(.*)') AS '\1', seq, first_start,
    dice, good, yield_ AS "yield", test AS test_key, n, mean, stddev,
    mean_cl, mean_cl - 3 * mean_sigma AS mean_lcl, mean_cl + 3 * mean_sigma AS mean_ucl,
    coalesce(mean NOT BETWEEN mean_cl - 3 * mean_sigma AND mean_cl + 3 * mean_sigma, false) AS mean_ooc,
    yield_cl, greatest(yield_cl - 3 * yield_sigma, 0.0) AS yield_lcl, least(yield_cl + 3 * yield_sigma, 1.0) AS yield_ucl,
    coalesce(yield_ NOT BETWEEN yield_cl - 3 * yield_sigma AND yield_cl + 3 * yield_sigma, false) AS yield_ooc,
    coalesce(mean NOT BETWEEN mean_cl - 3 * mean_sigma AND mean_cl + 3 * mean_sigma, false)
        OR coalesce(yield_ NOT BETWEEN yield_cl - 3 * yield_sigma AND yield_cl + 3 * yield_sigma, false) AS out_of_control
FROM c
ORDER BY seq;

-- The dice that have a value of both test_a and test_b, with the grouping keys of `per`
-- (g_* columns), their own columns and value_a, value_b (used by stdf_test_pairs and
-- stdf_test_correlation).
CREATE OR REPLACE MACRO stdf_pair_values(
    src := '', test_a := NULL, test_b := NULL, test_key := 'number_name', per := [], die_key := 'xy',
    product := NULL, stage := NULL, lot := NULL, wafer := NULL, site := NULL, date_from := NULL,
    date_to := NULL
) AS TABLE
WITH v AS (
    SELECT tv.file_id, tv.part_index, tv.test_key AS tk, tv.value FROM stdf_test_values(
        src := src, tests := [test_a, test_b], test_key := test_key, die_key := die_key, product := product,
        stage := stage, lot := lot, wafer := wafer, site := site, date_from := date_from, date_to := date_to
    ) AS tv
)
SELECT d.*, a.value AS value_a, b.value AS value_b
FROM stdf_dice(
    src := src, die_key := die_key, per := per, product := product, stage := stage, lot := lot,
    wafer := wafer, date_from := date_from, date_to := date_to
) AS d
JOIN v AS a ON a.file_id = d.file_id AND a.part_index = d.part_index AND a.tk = test_a
JOIN v AS b ON b.file_id = d.file_id AND b.part_index = d.part_index AND b.tk = test_b
WHERE site IS NULL OR d.site_num = site;

-- Test vs test over the same final dice: one row per die that has a value of both test_a and
-- test_b (test_key values of the policy; a die's value is stdf_test_values'): the die's
-- identity, bins, passed, value_a, value_b.
CREATE OR REPLACE MACRO stdf_test_pairs(
    src := '', test_a := NULL, test_b := NULL, test_key := 'number_name', die_key := 'xy',
    product := NULL, stage := NULL, lot := NULL, wafer := NULL, site := NULL, date_from := NULL,
    date_to := NULL
) AS TABLE
SELECT p.part_typ, p.test_stage, p.lot_id, p.wafer_id, p.x_coord, p.y_coord, p.part_id, p.head_num,
    p.site_num, p.die_id, p.file_path, p.part_index, p.hard_bin, p.soft_bin, p.passed, p.value_a, p.value_b
FROM stdf_pair_values(
    src := src, test_a := test_a, test_b := test_b, test_key := test_key, die_key := die_key,
    product := product, stage := stage, lot := lot, wafer := wafer, site := site,
    date_from := date_from, date_to := date_to
) AS p
ORDER BY p.part_typ, p.test_stage, p.lot_id, p.wafer_id, p.file_path, p.part_index;

-- Correlation of two tests over the dice of stdf_test_pairs, per group of `per`: n, pearson r,
-- r2, and the least-squares line value_b = slope * value_a + intercept (NULL with fewer than 2
-- dice or a constant value_a).
CREATE OR REPLACE MACRO stdf_test_correlation(
    src := '', test_a := NULL, test_b := NULL, test_key := 'number_name', per := [], die_key := 'xy',
    product := NULL, stage := NULL, lot := NULL, wafer := NULL, site := NULL, date_from := NULL,
    date_to := NULL
) AS TABLE
SELECT COLUMNS('^g_(.*)') AS '\1', test_a AS test_a, test_b AS test_b,
    count(*) AS n, corr(value_b, value_a) AS r, regr_r2(value_b, value_a) AS r2,
    regr_slope(value_b, value_a) AS slope, regr_intercept(value_b, value_a) AS intercept
FROM stdf_pair_values(
    src := src, test_a := test_a, test_b := test_b, test_key := test_key, per := per, die_key := die_key,
    product := product, stage := stage, lot := lot, wafer := wafer, site := site,
    date_from := date_from, date_to := date_to
)
GROUP BY ALL
ORDER BY ALL NULLS LAST;

-- The same dice across two stages (CP and FT, or two insertions named by TEST_COD): the final
-- dice of stage_a and of stage_b (each consolidated on its own) matched by `match`:
--   'part_id'   the lot_id and PRR PART_ID (part ids repeat across lots),
--   'part_txt'  the PRR PART_TXT alone (an ECID or other unique die text),
--   'xy'        lot_id, wafer_id, x_coord, y_coord (both stages on the wafer's frame).
-- A die whose key is NULL or empty matches nothing. Every die of either stage is a row (full
-- join): in_a / in_b say which stages hold it; a_* and b_* are its columns in each stage, and,
-- when `test` names a test_key, a_value / b_value its value of that test at each stage. A key
-- that several dice of one stage share pairs each with each.
CREATE OR REPLACE MACRO stdf_stage_pairs(
    src := '', stage_a := NULL, stage_b := NULL, match := 'part_id', test := NULL,
    test_key := 'number_name', die_key := 'xy', product := NULL, lot := NULL, wafer := NULL,
    date_from := NULL, date_to := NULL
) AS TABLE
WITH d AS (
    SELECT d.*, CASE
        WHEN match NOT IN ('part_id', 'part_txt', 'xy')
            THEN error('match must be ''part_id'', ''part_txt'' or ''xy'', not ''' || match || '''')
        WHEN match = 'part_id' THEN coalesce(d.lot_id, '') || '|' || nullif(d.part_id, '')
        WHEN match = 'part_txt' THEN nullif(d.part_txt, '')
        ELSE coalesce(d.lot_id, '') || '|' || d.wafer_id || '|' || d.x_coord || '|' || d.y_coord
    END AS match_key
    FROM stdf_dice(
        src := src, die_key := die_key, product := product, lot := lot, wafer := wafer,
        date_from := date_from, date_to := date_to
    ) AS d
    WHERE d.test_stage IN (stage_a, stage_b)
), v AS (
    SELECT file_id, part_index, value FROM stdf_test_values(
        src := src, tests := [test], test_key := test_key, die_key := die_key, product := product,
        lot := lot, wafer := wafer, date_from := date_from, date_to := date_to
    )
    WHERE test IS NOT NULL
), s AS (
    SELECT d.*, v.value FROM d LEFT JOIN v ON v.file_id = d.file_id AND v.part_index = d.part_index
)
SELECT coalesce(a.match_key, b.match_key) AS match_key,
    a.file_id IS NOT NULL AS in_a, b.file_id IS NOT NULL AS in_b,
    a.lot_id AS a_lot_id, a.wafer_id AS a_wafer_id, a.x_coord AS a_x_coord, a.y_coord AS a_y_coord,
    a.part_id AS a_part_id, a.part_txt AS a_part_txt, a.hard_bin AS a_hard_bin, a.soft_bin AS a_soft_bin,
    a.passed AS a_passed, a.file_path AS a_file_path, a.part_index AS a_part_index,
    b.lot_id AS b_lot_id, b.wafer_id AS b_wafer_id, b.x_coord AS b_x_coord, b.y_coord AS b_y_coord,
    b.part_id AS b_part_id, b.part_txt AS b_part_txt, b.hard_bin AS b_hard_bin, b.soft_bin AS b_soft_bin,
    b.passed AS b_passed, b.file_path AS b_file_path, b.part_index AS b_part_index,
    test AS test_key, a.value AS a_value, b.value AS b_value
FROM (SELECT * FROM s WHERE s.test_stage = stage_a) AS a
FULL JOIN (SELECT * FROM s WHERE s.test_stage = stage_b) AS b ON a.match_key = b.match_key
ORDER BY 1 NULLS LAST, a_file_path, a_part_index, b_file_path, b_part_index;
