-- Soft-bin Pareto of the final insertion of each die, with the hard bin it maps to.
-- Tables: `parts`.
WITH final AS (
    SELECT hard_bin, soft_bin, any_value(sbin_name) AS sbin_name, any_value(hbin_name) AS hbin_name,
           bool_and(passed) AS passing, count(*) AS n
    FROM parts
    WHERE complete AND is_final
    GROUP BY hard_bin, soft_bin
)
SELECT
    soft_bin,
    coalesce(sbin_name, '') AS sbin_name,
    hard_bin,
    coalesce(hbin_name, '') AS hbin_name,
    CASE WHEN passing THEN 'P' ELSE 'F' END AS pf,
    n,
    round(100.0 * n / sum(n) OVER (), 2) AS pct,
    round(100.0 * sum(n) OVER (ORDER BY n DESC, soft_bin ROWS UNBOUNDED PRECEDING) / sum(n) OVER (), 2) AS cumulative_pct
FROM final
ORDER BY n DESC, soft_bin;
