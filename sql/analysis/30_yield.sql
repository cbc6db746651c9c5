-- Yield of the consolidated dice (stdf_insertions), grouped by `per` (a list of 'product',
-- 'stage', 'lot', 'wafer', 'site', 'file', 'tester', 'day', 'week': see stdf_insertions). The key
-- columns come first (part_typ, test_stage, lot_id, wafer_id, head_num, site_num, file_path,
-- node_nam, day, week); those of groupings not asked are NULL.
--
-- Each insertion counts in the group of its own row: under 'lot' or 'wafer' every insertion of a
-- die is in one group; under 'site', 'file', 'tester' or a date, a die counts as a die where its
-- final insertion ran and as first-pass where its first ran.
--   insertions        parts tested (every insertion)
--   dice              final insertions (one per die)
--   good              dice whose final insertion passed
--   yield             good / dice (final yield)
--   first_pass        first insertions
--   first_pass_good   first insertions that passed
--   first_pass_yield  first_pass_good / first_pass
--   retests           insertions - first_pass
--   recovered         dice that failed their first insertion and passed their final one
--   retest_recovery   recovered / (first_pass - first_pass_good): the share of first-pass
--                     failures that retest recovered
CREATE OR REPLACE MACRO stdf_yield(
    src := '', per := ['lot'], die_key := 'xy', product := NULL, stage := NULL, lot := NULL,
    wafer := NULL, site := NULL, date_from := NULL, date_to := NULL
) AS TABLE
SELECT
    COLUMNS('^g_(.*)') AS '\1',
    count(*) AS insertions,
    count(*) FILTER (WHERE is_final_lot) AS dice,
    count(*) FILTER (WHERE is_final_lot AND passed) AS good,
    count(*) FILTER (WHERE is_final_lot AND passed) / nullif(count(*) FILTER (WHERE is_final_lot), 0) AS "yield",
    count(*) FILTER (WHERE insertion = 1) AS first_pass,
    count(*) FILTER (WHERE insertion = 1 AND passed) AS first_pass_good,
    count(*) FILTER (WHERE insertion = 1 AND passed) / nullif(count(*) FILTER (WHERE insertion = 1), 0) AS first_pass_yield,
    count(*) FILTER (WHERE insertion > 1) AS retests,
    count(*) FILTER (WHERE is_final_lot AND passed AND insertion > 1 AND NOT coalesce(first_pass_passed, false)) AS recovered,
    count(*) FILTER (WHERE is_final_lot AND passed AND insertion > 1 AND NOT coalesce(first_pass_passed, false))
        / nullif(count(*) FILTER (WHERE insertion = 1 AND NOT coalesce(passed, false)), 0) AS retest_recovery
FROM stdf_insertions(
    src := src, die_key := die_key, per := per, product := product, stage := stage, lot := lot, wafer := wafer,
    date_from := date_from, date_to := date_to
)
WHERE site IS NULL OR site_num = site
GROUP BY ALL
ORDER BY ALL NULLS LAST;

-- Yield per site beside the other sites of the same groups (`per` without 'site'): a bad site
-- shows as a negative deviation. others_yield pools every other site's dice.
CREATE OR REPLACE MACRO stdf_site_yield(
    src := '', per := [], die_key := 'xy', product := NULL, stage := NULL, lot := NULL,
    wafer := NULL, date_from := NULL, date_to := NULL
) AS TABLE
WITH s AS (
    SELECT * FROM stdf_yield(
        src := src, per := list_append(per, 'site'), die_key := die_key, product := product,
        stage := stage, lot := lot, wafer := wafer, date_from := date_from, date_to := date_to
    )
)
SELECT s.*,
    (sum(good) OVER g - good) / nullif(sum(dice) OVER g - dice, 0) AS others_yield,
    "yield" - (sum(good) OVER g - good) / nullif(sum(dice) OVER g - dice, 0) AS deviation
FROM s
WINDOW g AS (PARTITION BY part_typ, test_stage, lot_id, wafer_id, file_path, node_nam, day, week)
ORDER BY part_typ, test_stage, lot_id, wafer_id, file_path, node_nam, day, week, head_num, site_num;
