-- The tests that fail most often (one execution = one PTR/MPR/FTR record; an MPR fails once
-- whatever the number of its pins), over every insertion.
-- Tables: `results`.
WITH executions AS (
    SELECT rec_type, test_num, any_value(test_name) AS test_name, bool_and(passed) AS passed
    FROM results
    GROUP BY file_id, record_index, rec_type, test_num
)
SELECT
    test_num,
    test_name,
    rec_type,
    count(*) AS executions,
    count(*) FILTER (NOT passed) AS failures,
    round(100.0 * count(*) FILTER (NOT passed) / count(*), 3) AS fail_pct
FROM executions
GROUP BY ALL
HAVING count(*) FILTER (NOT passed) > 0
ORDER BY failures DESC, test_num
LIMIT 10;
