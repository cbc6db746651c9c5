-- Per-site statistics of one parametric test (the PTR with the most results), with its limits
-- and Cpk per site: a quick look for a site that drifts.
-- Tables: `results`.
WITH pick AS (
    SELECT test_num FROM results
    WHERE rec_type = 'PTR' AND result IS NOT NULL
    GROUP BY test_num ORDER BY count(*) DESC, test_num LIMIT 1
), r AS (
    SELECT * FROM results WHERE test_num = (SELECT test_num FROM pick) AND result IS NOT NULL
)
SELECT
    test_num,
    any_value(test_name) AS test_name,
    head_num,
    site_num,
    count(*) AS n,
    avg(result) AS mean,
    stddev_samp(result) AS stddev,
    min(result) AS min,
    max(result) AS max,
    any_value(lo_limit) AS lo_limit,
    any_value(hi_limit) AS hi_limit,
    any_value(units) AS units,
    round(least(any_value(hi_limit) - avg(result), avg(result) - any_value(lo_limit)) / (3 * stddev_samp(result)), 2) AS cpk
FROM r
GROUP BY test_num, head_num, site_num
ORDER BY head_num, site_num;
