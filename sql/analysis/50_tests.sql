-- Test results of the consolidated dice: <src>results (the archive's `results` view, or a view
-- over stdf_results) joined to stdf_insertions on (file_id, part_index), with the die's columns
-- and the `test_key` of the policy (stdf_test_key). test_name is the record's own TEST_TXT when
-- it has one, else the test's name in its file (the first TEST_TXT): programs that write one
-- TEST_NUM for many tests (V93000: 0) tell them apart by that text only. final_only (default)
-- keeps the results of each die's final insertion. tests (a list of test_key values; NULL or
-- empty: all) keeps those tests' results; under 'number' and 'number_name' the key's number is
-- also a condition on test_num that reaches the scan, so that the results files sorted by
-- test_num are read in the row groups of those numbers only.
CREATE OR REPLACE MACRO stdf_test_results(
    src := '', test_key := 'number_name', per := [], die_key := 'xy', final_only := true,
    tests := NULL, product := NULL, stage := NULL, lot := NULL, wafer := NULL, site := NULL, date_from := NULL,
    date_to := NULL
) AS TABLE
SELECT r.* REPLACE (coalesce(nullif(r.test_txt, ''), r.test_name) AS test_name),
    stdf_test_key(test_key, r.test_num, coalesce(nullif(r.test_txt, ''), r.test_name)) AS test_key,
    COLUMNS('^g_'), d.die_id, d.wafer_index, d.wafer_id, d.x_coord, d.y_coord, d.part_id,
    d.hard_bin, d.soft_bin, d.passed AS part_passed, d.insertion, d.n_insertions,
    d.is_final_lot, d.first_pass_passed, d.file_path, d.start_time
FROM query(stdf_relation(src, 'results', product, stage, lot)) AS r
JOIN stdf_insertions(
    src := src, die_key := die_key, per := per, product := product, stage := stage, lot := lot,
    wafer := wafer, date_from := date_from, date_to := date_to
) AS d ON d.file_id = r.file_id AND d.part_index = r.part_index
WHERE (NOT final_only OR d.is_final_lot) AND (site IS NULL OR d.site_num = site)
  -- the partition columns on the results too: an archive then reads one lot's results files only
  AND (product IS NULL OR r.part_typ = product)
  AND (stage IS NULL OR r.test_stage = stage)
  AND (lot IS NULL OR r.lot_id = lot)
  AND (tests IS NULL OR len(tests) = 0
       OR list_contains(tests, stdf_test_key(test_key, r.test_num, coalesce(nullif(r.test_txt, ''), r.test_name))))
  -- implied by the condition above (a key of these policies starts with the decimal TEST_NUM of
  -- its results); a CASE, not an OR, so that it folds into a plain filter on the scan
  AND CASE WHEN tests IS NULL OR len(tests) = 0 OR test_key NOT IN ('number', 'number_name') THEN true
           ELSE list_contains(list_transform(tests, lambda k: try_cast(split_part(k, ':', 1) AS UINTEGER)), r.test_num)
      END;

-- Statistics per test (PTR; MPR per pin; FTR as fail counts) over the final dice, grouped by
-- `per` (`tests`: of those test_key values only, as in stdf_test_results). Population: results
-- with result_valid and a finite value.
--   n, mean, stddev (n-1), min, max, p1, p50, p99   of that population
--   lo_limit, hi_limit, units                       the most frequent ones of the test
--   cp  = (hi - lo) / (6 stddev)                    both limits needed
--   cpk = min(hi - mean, mean - lo) / (3 stddev)    one-sided with one limit
--   executions, fails (passed = false), fail_rate = fails / executions
CREATE OR REPLACE MACRO stdf_test_stats(
    src := '', test_key := 'number_name', per := [], die_key := 'xy', final_only := true,
    tests := NULL, product := NULL, stage := NULL, lot := NULL, wafer := NULL, site := NULL, date_from := NULL,
    date_to := NULL
) AS TABLE
WITH t AS (
    SELECT * FROM stdf_test_results(
        src := src, test_key := test_key, per := per, die_key := die_key, final_only := final_only,
        tests := tests, product := product, stage := stage, lot := lot, wafer := wafer, site := site,
        date_from := date_from, date_to := date_to
    )
), a AS (
    SELECT COLUMNS('^g_'), t.rec_type, t.test_key AS k,
        CASE WHEN t.rec_type = 'MPR' THEN t.pin_index END AS pin_index,
        CASE WHEN t.rec_type = 'MPR' THEN t.pin_name END AS pin_name,
        min(t.test_num) AS test_num, stdf_mode(histogram(t.test_name)) AS test_name,
        stdf_mode(histogram(t.units)) AS units,
        count(t.result) FILTER (WHERE t.result_valid AND isfinite(t.result)) AS n,
        avg(t.result) FILTER (WHERE t.result_valid AND isfinite(t.result)) AS mean,
        stddev_samp(t.result) FILTER (WHERE t.result_valid AND isfinite(t.result)) AS stddev,
        min(t.result) FILTER (WHERE t.result_valid AND isfinite(t.result)) AS min,
        max(t.result) FILTER (WHERE t.result_valid AND isfinite(t.result)) AS max,
        quantile_cont(t.result, 0.01) FILTER (WHERE t.result_valid AND isfinite(t.result)) AS p1,
        quantile_cont(t.result, 0.5) FILTER (WHERE t.result_valid AND isfinite(t.result)) AS p50,
        quantile_cont(t.result, 0.99) FILTER (WHERE t.result_valid AND isfinite(t.result)) AS p99,
        stdf_mode(histogram(t.lo_limit)) AS lo_limit, stdf_mode(histogram(t.hi_limit)) AS hi_limit,
        count(*) AS executions,
        count(*) FILTER (WHERE t.passed = false) AS fails
    FROM t
    GROUP BY ALL
)
SELECT COLUMNS('^g_(.*)') AS '\1',
    rec_type, k AS test_key, test_num, test_name, pin_index, pin_name, units,
    n, mean, stddev, min, max, p1, p50, p99, lo_limit, hi_limit,
    (hi_limit - lo_limit) / nullif(6 * stddev, 0) AS cp,
    CASE
        WHEN lo_limit IS NOT NULL AND hi_limit IS NOT NULL
            THEN least(hi_limit - mean, mean - lo_limit) / nullif(3 * stddev, 0)
        WHEN hi_limit IS NOT NULL THEN (hi_limit - mean) / nullif(3 * stddev, 0)
        WHEN lo_limit IS NOT NULL THEN (mean - lo_limit) / nullif(3 * stddev, 0)
    END AS cpk,
    executions, fails, fails / nullif(executions, 0) AS fail_rate
FROM a
ORDER BY g_part_typ, g_test_stage, g_lot_id, g_wafer_id, g_head_num, g_site_num, g_file_path,
         g_node_nam, g_day, g_week, test_num, k, pin_index;

-- First-fail Pareto: the first failing result (in record order) of each failing final die, by
-- test_key, with the share of the failing dice and the cumulative share. A die that failed with
-- no failing result (a bin-only failure) counts under test_key NULL.
CREATE OR REPLACE MACRO stdf_first_fail(
    src := '', test_key := 'number_name', per := [], die_key := 'xy', product := NULL,
    stage := NULL, lot := NULL, wafer := NULL, site := NULL, date_from := NULL, date_to := NULL
) AS TABLE
WITH f AS (
    SELECT t.file_id, t.part_index,
        arg_min(t.test_key, t.record_index) AS k,
        arg_min(t.test_num, t.record_index) AS num,
        arg_min(t.test_name, t.record_index) AS name
    FROM stdf_test_results(
        src := src, test_key := test_key, die_key := die_key, product := product, stage := stage,
        lot := lot, wafer := wafer, site := site, date_from := date_from, date_to := date_to
    ) AS t
    WHERE t.part_passed = false AND t.passed = false
    GROUP BY t.file_id, t.part_index
), d AS (
    SELECT COLUMNS('^g_'), f.k, f.num, f.name
    FROM stdf_dice(
        src := src, die_key := die_key, per := per, product := product, stage := stage, lot := lot,
        wafer := wafer, date_from := date_from, date_to := date_to
    ) AS x
    LEFT JOIN f ON f.file_id = x.file_id AND f.part_index = x.part_index
    WHERE x.passed = false AND (site IS NULL OR x.site_num = site)
), c AS (
    SELECT COLUMNS('^g_'), k, min(num) AS test_num, stdf_mode(histogram(name)) AS test_name, count(*) AS n
    FROM d GROUP BY ALL
)
SELECT COLUMNS('^g_(.*)') AS '\1',
    k AS test_key, test_num, test_name, n AS count,
    n / sum(n) OVER g AS fraction,
    sum(n) OVER (g ORDER BY n DESC, test_num NULLS LAST, k ROWS UNBOUNDED PRECEDING) / sum(n) OVER g AS cum_fraction
FROM c
WINDOW g AS (PARTITION BY g_part_typ, g_test_stage, g_lot_id, g_wafer_id, g_head_num, g_site_num,
                          g_file_path, g_node_nam, g_day, g_week)
ORDER BY g_part_typ, g_test_stage, g_lot_id, g_wafer_id, g_head_num, g_site_num, g_file_path,
         g_node_nam, g_day, g_week, n DESC, test_num NULLS LAST, k;
