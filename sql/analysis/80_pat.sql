-- Part Average Testing (AEC-Q001) and what-if limits, over the final dice (stdf_test_results).
-- Filters and die_key as in stdf_insertions (20_dice.sql). Tests are keyed by the test_key
-- policy; an MPR is a test per pin (pin_index), as in stdf_test_stats.

-- PAT limits per test. Population: the results of the final dice that passed, with result_valid
-- and a finite value. Per test (and pin) of each product and stage, and under scope 'lot' per
-- lot, under 'wafer' per lot and wafer (dynamic PAT; the dice of a lot without wafer ids are one
-- wafer):
--   n, median, q1, q3          (quantile_cont: linear interpolation)
--   robust_sigma = (q3 - q1) / 1.349
--   pat_lo = median - k * robust_sigma, pat_hi = median + k * robust_sigma, then clamped into
--   the test limits (greatest(pat_lo, lo_limit), least(pat_hi, hi_limit), AEC-Q001: PAT limits
--   never lie outside the test limits), raw_lo/raw_hi the values before clamping;
--   lo_limit, hi_limit the test's most frequent limits.
-- A robust_sigma of 0 (more than half the values equal) gives pat_lo = pat_hi = median.
CREATE OR REPLACE MACRO stdf_pat_limits(
    src := '', scope := 'static', k := 6.0, test_key := 'number_name', die_key := 'xy',
    product := NULL, stage := NULL, lot := NULL, wafer := NULL, site := NULL, date_from := NULL,
    date_to := NULL
) AS TABLE
WITH t AS (
    SELECT * FROM stdf_test_results(
        src := src, test_key := test_key, die_key := die_key, final_only := true,
        per := CASE scope
            WHEN 'static' THEN ['product', 'stage']
            WHEN 'lot' THEN ['product', 'stage', 'lot']
            WHEN 'wafer' THEN ['product', 'stage', 'wafer']
            ELSE error('scope must be ''static'', ''lot'' or ''wafer'', not ''' || scope || '''')
        END,
        product := product, stage := stage, lot := lot, wafer := wafer, site := site,
        date_from := date_from, date_to := date_to
    )
), q AS (
    SELECT t.g_part_typ, t.g_test_stage, t.g_lot_id, t.g_wafer_id, t.rec_type, t.test_key AS tk,
        CASE WHEN t.rec_type = 'MPR' THEN t.pin_index END AS pin,
        min(t.test_num) AS test_num, stdf_mode(histogram(t.test_name)) AS test_name,
        stdf_mode(histogram(t.units)) AS units,
        count(*) FILTER (WHERE t.part_passed AND t.result_valid AND isfinite(t.result)) AS n,
        quantile_cont(CAST(t.result AS DOUBLE), [0.25, 0.5, 0.75])
            FILTER (WHERE t.part_passed AND t.result_valid AND isfinite(t.result)) AS qs,
        CAST(stdf_mode(histogram(t.lo_limit)) AS DOUBLE) AS lo_limit,
        CAST(stdf_mode(histogram(t.hi_limit)) AS DOUBLE) AS hi_limit
    FROM t
    GROUP BY ALL
), r AS (
    SELECT *, qs[2] AS median, qs[1] AS q1, qs[3] AS q3, (qs[3] - qs[1]) / 1.349 AS robust_sigma FROM q
)
SELECT r.g_part_typ AS part_typ, r.g_test_stage AS test_stage, r.g_lot_id AS lot_id, r.g_wafer_id AS wafer_id,
    r.rec_type, r.tk AS test_key, r.test_num, r.test_name, r.pin AS pin_index, r.units,
    r.n, r.median, r.q1, r.q3, r.robust_sigma,
    CASE WHEN r.lo_limit IS NULL OR NOT isfinite(r.lo_limit) THEN r.median - k * r.robust_sigma
         ELSE greatest(r.median - k * r.robust_sigma, r.lo_limit) END AS pat_lo,
    CASE WHEN r.hi_limit IS NULL OR NOT isfinite(r.hi_limit) THEN r.median + k * r.robust_sigma
         ELSE least(r.median + k * r.robust_sigma, r.hi_limit) END AS pat_hi,
    r.median - k * r.robust_sigma AS raw_lo, r.median + k * r.robust_sigma AS raw_hi,
    r.lo_limit, r.hi_limit
FROM r
WHERE r.n > 0
ORDER BY r.g_part_typ, r.g_test_stage, r.g_lot_id, r.g_wafer_id, r.test_num, r.tk, r.pin;

-- PAT outliers: every result of a passing final die (result_valid, finite) outside its test's PAT
-- limits (stdf_pat_limits of the same scope, k and filters): the die's identity, the test, the
-- value, side ('lo' below pat_lo, 'hi' above pat_hi) and the limits. A die with several outlying
-- results has a row each.
CREATE OR REPLACE MACRO stdf_pat_outliers(
    src := '', scope := 'static', k := 6.0, test_key := 'number_name', die_key := 'xy',
    product := NULL, stage := NULL, lot := NULL, wafer := NULL, site := NULL, date_from := NULL,
    date_to := NULL
) AS TABLE
WITH l AS (
    SELECT * FROM stdf_pat_limits(
        src := src, scope := scope, k := k, test_key := test_key, die_key := die_key, product := product,
        stage := stage, lot := lot, wafer := wafer, site := site, date_from := date_from, date_to := date_to
    )
), t AS (
    SELECT * FROM stdf_test_results(
        src := src, test_key := test_key, die_key := die_key, final_only := true,
        product := product, stage := stage, lot := lot, wafer := wafer, site := site,
        date_from := date_from, date_to := date_to
    ) AS r
    WHERE r.part_passed AND r.result_valid AND isfinite(r.result)
)
SELECT t.part_typ, t.test_stage, t.lot_id, t.wafer_id, t.x_coord, t.y_coord, t.part_id,
    t.head_num, t.site_num, t.die_id, t.file_path, t.file_id, t.part_index,
    t.rec_type, t.test_key AS test_key, t.test_num, l.test_name, l.pin_index, CAST(t.result AS DOUBLE) AS value,
    CASE WHEN t.result < l.pat_lo THEN 'lo' ELSE 'hi' END AS side,
    l.pat_lo, l.pat_hi, l.median, l.robust_sigma, l.lo_limit, l.hi_limit
FROM t JOIN l
    ON l.part_typ IS NOT DISTINCT FROM t.part_typ AND l.test_stage IS NOT DISTINCT FROM t.test_stage
   AND (scope = 'static' OR l.lot_id IS NOT DISTINCT FROM t.lot_id)
   AND (scope <> 'wafer' OR l.wafer_id IS NOT DISTINCT FROM t.wafer_id)
   AND l.rec_type = t.rec_type AND l.test_key = t.test_key
   AND l.pin_index IS NOT DISTINCT FROM (CASE WHEN t.rec_type = 'MPR' THEN t.pin_index END)
WHERE t.result < l.pat_lo OR t.result > l.pat_hi
ORDER BY t.part_typ, t.test_stage, t.lot_id, t.wafer_id, t.file_path, t.part_index, t.test_num, t.test_key, l.pin_index;

-- Yield after PAT per group of `per` (default per lot): dice, good (final dice that passed),
-- pat_outliers (good dice with at least one result outside its PAT limits, stdf_pat_outliers),
-- good_after_pat = good - pat_outliers, yield, yield_after_pat.
CREATE OR REPLACE MACRO stdf_pat_yield(
    src := '', scope := 'static', k := 6.0, per := ['lot'], test_key := 'number_name', die_key := 'xy',
    product := NULL, stage := NULL, lot := NULL, wafer := NULL, site := NULL, date_from := NULL,
    date_to := NULL
) AS TABLE
WITH o AS (
    SELECT DISTINCT o.file_id, o.part_index FROM stdf_pat_outliers(
        src := src, scope := scope, k := k, test_key := test_key, die_key := die_key, product := product,
        stage := stage, lot := lot, wafer := wafer, site := site, date_from := date_from, date_to := date_to
    ) AS o
)
SELECT COLUMNS('^g_(.*)') AS '\1',
    count(*) AS dice,
    count(*) FILTER (WHERE d.passed) AS good,
    count(o.part_index) AS pat_outliers,
    count(*) FILTER (WHERE d.passed) - count(o.part_index) AS good_after_pat,
    count(*) FILTER (WHERE d.passed) / count(*) AS "yield",
    (count(*) FILTER (WHERE d.passed) - count(o.part_index)) / count(*) AS yield_after_pat
FROM stdf_dice(
    src := src, die_key := die_key, per := per, product := product, stage := stage, lot := lot,
    wafer := wafer, date_from := date_from, date_to := date_to
) AS d
LEFT JOIN o ON o.file_id = d.file_id AND o.part_index = d.part_index
WHERE site IS NULL OR d.site_num = site
GROUP BY ALL
ORDER BY ALL NULLS LAST;

-- What-if limits: each final die re-judged with new limits for some tests. `limits` is a list of
-- {'test_key': <a test_key of the policy>, 'lo': <number or NULL>, 'hi': <number or NULL>}
-- (NULL: no limit on that side). A result of a listed test is re-judged: with result_valid and a
-- finite value it fails when value < lo or value > hi; otherwise it keeps the tester's P/F. The
-- results of other tests keep the tester's P/F (passed = false fails). Then:
--   a die that passed fails when a re-judged result fails (pass -> fail);
--   a die that failed passes when it had at least one failing result, every failing result was
--   of a listed test, and every re-judged result passes (fail -> pass); a die that failed with no
--   failing result (a bin or PRR decision only) or with a failing result of another test stays
--   failed.
-- One row per final die: the g_* keys of `per`, its identity, passed (the tester's),
-- passed_after, change ('pass->fail', 'fail->pass' or NULL), n_rejudged (its results of listed
-- tests), fails_after (re-judged results that fail), fails_other (failing results of other tests).
-- A limit whose test_key no result of the filtered source has is an error (a key of another
-- test_key policy would otherwise change nothing, silently).
CREATE OR REPLACE MACRO stdf_whatif_judged(
    src := '', limits := NULL, per := [], test_key := 'number_name', die_key := 'xy',
    product := NULL, stage := NULL, lot := NULL, wafer := NULL, site := NULL, date_from := NULL,
    date_to := NULL
) AS TABLE
WITH l AS (
    SELECT CAST(u.l.test_key AS VARCHAR) AS lk, CAST(u.l.lo AS DOUBLE) AS lo, CAST(u.l.hi AS DOUBLE) AS hi
    FROM (SELECT unnest(limits) AS l) AS u
), tl AS MATERIALIZED (
    SELECT t.file_id, t.part_index, t.result, t.result_valid, t.passed, l.lk, l.lo, l.hi
    FROM stdf_test_results(
        src := src, test_key := test_key, die_key := die_key, final_only := true, product := product,
        stage := stage, lot := lot, wafer := wafer, site := site, date_from := date_from, date_to := date_to
    ) AS t
    LEFT JOIN l ON l.lk = t.test_key
), r AS (
    SELECT tl.file_id, tl.part_index,
        count(tl.lk) AS n_rejudged,
        count(*) FILTER (WHERE tl.lk IS NOT NULL AND CASE
            WHEN tl.result_valid AND isfinite(tl.result)
                THEN tl.result < coalesce(tl.lo, '-inf'::DOUBLE) OR tl.result > coalesce(tl.hi, 'inf'::DOUBLE)
            ELSE tl.passed = false END) AS fails_after,
        count(*) FILTER (WHERE tl.lk IS NULL AND tl.passed = false) AS fails_other,
        count(*) FILTER (WHERE tl.passed = false) AS fails_before
    FROM tl
    GROUP BY ALL
), unknown AS (
    SELECT string_agg(l.lk, ', ' ORDER BY l.lk) AS keys FROM l
    WHERE l.lk NOT IN (SELECT DISTINCT tl.lk FROM tl WHERE tl.lk IS NOT NULL)
), j AS (
    SELECT d.*, coalesce(r.n_rejudged, 0) AS n_rejudged, coalesce(r.fails_after, 0) AS fails_after,
        coalesce(r.fails_other, 0) AS fails_other, coalesce(r.fails_before, 0) AS fails_before
    FROM stdf_dice(
        src := src, die_key := die_key, per := per, product := product, stage := stage, lot := lot,
        wafer := wafer, date_from := date_from, date_to := date_to
    ) AS d
    LEFT JOIN r ON r.file_id = d.file_id AND r.part_index = d.part_index
    WHERE site IS NULL OR d.site_num = site
), a AS (
    SELECT *, CASE WHEN coalesce(passed, false) THEN fails_after = 0
                   ELSE fails_before > 0 AND fails_other = 0 AND fails_after = 0 END AS passed_after
    FROM j
)
SELECT COLUMNS('^g_'), a.part_typ, a.test_stage, a.lot_id, a.wafer_id, a.x_coord, a.y_coord, a.part_id,
    a.head_num, a.site_num, a.die_id, a.file_path, a.file_id, a.part_index, a.hard_bin, a.soft_bin,
    a.passed, a.passed_after,
    CASE WHEN coalesce(a.passed, false) AND NOT a.passed_after THEN 'pass->fail'
         WHEN NOT coalesce(a.passed, false) AND a.passed_after THEN 'fail->pass' END AS change,
    a.n_rejudged, a.fails_after, a.fails_other
FROM a
WHERE (SELECT CASE WHEN u.keys IS NULL THEN true
                   ELSE error('what-if limits name no test of the source (test_key ''' || test_key || '''): ' || u.keys) END
       FROM unknown AS u);

-- The final dice re-judged by stdf_whatif_judged, without its g_* keys: one row per die.
CREATE OR REPLACE MACRO stdf_whatif_dice(
    src := '', limits := NULL, test_key := 'number_name', die_key := 'xy', product := NULL,
    stage := NULL, lot := NULL, wafer := NULL, site := NULL, date_from := NULL, date_to := NULL
) AS TABLE
SELECT COLUMNS('^([^g]|g[^_]).*$') FROM stdf_whatif_judged(
    src := src, limits := limits, test_key := test_key, die_key := die_key, product := product,
    stage := stage, lot := lot, wafer := wafer, site := site, date_from := date_from, date_to := date_to
)
ORDER BY part_typ, test_stage, lot_id, wafer_id, file_path, part_index;

-- What-if yield per group of `per` (default per lot), from stdf_whatif_judged: dice, good,
-- "yield" (the tester's), good_after, yield_after, pass_to_fail, fail_to_pass, yield_change.
CREATE OR REPLACE MACRO stdf_whatif(
    src := '', limits := NULL, per := ['lot'], test_key := 'number_name', die_key := 'xy',
    product := NULL, stage := NULL, lot := NULL, wafer := NULL, site := NULL, date_from := NULL,
    date_to := NULL
) AS TABLE
SELECT COLUMNS('^g_(.*)') AS '\1',
    count(*) AS dice,
    count(*) FILTER (WHERE w.passed) AS good,
    count(*) FILTER (WHERE w.passed) / count(*) AS "yield",
    count(*) FILTER (WHERE w.passed_after) AS good_after,
    count(*) FILTER (WHERE w.passed_after) / count(*) AS yield_after,
    count(*) FILTER (WHERE w.change = 'pass->fail') AS pass_to_fail,
    count(*) FILTER (WHERE w.change = 'fail->pass') AS fail_to_pass,
    (count(*) FILTER (WHERE w.passed_after) - count(*) FILTER (WHERE w.passed)) / count(*) AS yield_change
FROM (
    SELECT COLUMNS('^g_'), x.passed, x.passed_after, x.change FROM stdf_whatif_judged(
        src := src, limits := limits, per := per, test_key := test_key, die_key := die_key, product := product,
        stage := stage, lot := lot, wafer := wafer, site := site, date_from := date_from, date_to := date_to
    ) AS x
) AS w
GROUP BY ALL
ORDER BY ALL NULLS LAST;
