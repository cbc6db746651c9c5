-- Bin Pareto of the final dice: hard ('H') and soft ('S') bins with their names and P/F, the
-- share of the group's dice and the cumulative share in Pareto order (most dice first). `per` and
-- the filters as in stdf_yield; bin_type := 'H' or 'S' keeps one kind. A bin number that two
-- files name differently shows its most frequent name.
CREATE OR REPLACE MACRO stdf_bin_pareto(
    src := '', bin_type := NULL, per := [], die_key := 'xy', product := NULL, stage := NULL,
    lot := NULL, wafer := NULL, site := NULL, date_from := NULL, date_to := NULL
) AS TABLE
WITH d AS (
    SELECT * FROM stdf_dice(
        src := src, die_key := die_key, per := per, product := product, stage := stage, lot := lot,
        wafer := wafer, date_from := date_from, date_to := date_to
    )
    WHERE site IS NULL OR site_num = site
), b AS (
    SELECT COLUMNS('^g_'), 'H' AS b_type, hard_bin AS b_num, hbin_name AS b_name, hbin_pf AS b_pf FROM d
    WHERE bin_type IS NULL OR bin_type = 'H'
    UNION ALL BY NAME
    SELECT COLUMNS('^g_'), 'S' AS b_type, soft_bin AS b_num, sbin_name AS b_name, sbin_pf AS b_pf FROM d
    WHERE bin_type IS NULL OR bin_type = 'S'
), c AS (
    SELECT COLUMNS('^g_'), b_type, b_num, stdf_mode(histogram(b_name)) AS b_name,
        stdf_mode(histogram(b_pf)) AS b_pf, count(*) AS n
    FROM b GROUP BY ALL
)
SELECT COLUMNS('^g_(.*)') AS '\1',
    b_type AS bin_type, b_num AS bin_num, b_name AS bin_name, b_pf AS bin_pf, n AS count,
    n / sum(n) OVER g AS fraction,
    sum(n) OVER (g ORDER BY n DESC, b_num NULLS LAST ROWS UNBOUNDED PRECEDING) / sum(n) OVER g AS cum_fraction
FROM c
WINDOW g AS (PARTITION BY g_part_typ, g_test_stage, g_lot_id, g_wafer_id, g_head_num, g_site_num,
                          g_file_path, g_node_nam, g_day, g_week, b_type)
ORDER BY g_part_typ, g_test_stage, g_lot_id, g_wafer_id, g_head_num, g_site_num, g_file_path,
         g_node_nam, g_day, g_week, b_type, n DESC, b_num NULLS LAST;

-- Bin x site: for each bin and site, the site's count and share of its dice beside the share
-- of the same bin on every other site (pooled); deviation = fraction - others_fraction, so a
-- site that bins one way more than the others stands out. Every (bin, site) of a group is a row,
-- with count 0 where the site has none of that bin. `per` must not hold 'site'.
-- (Inside a macro an unqualified column named like a parameter reads the parameter: columns
-- that share a parameter's name are written qualified.)
CREATE OR REPLACE MACRO stdf_bin_sites(
    src := '', bin_type := 'H', per := [], die_key := 'xy', product := NULL, stage := NULL,
    lot := NULL, wafer := NULL, date_from := NULL, date_to := NULL
) AS TABLE
WITH p AS (
    SELECT * FROM stdf_bin_pareto(
        src := src, bin_type := bin_type, per := list_append(per, 'site'), die_key := die_key,
        product := product, stage := stage, lot := lot, wafer := wafer, date_from := date_from,
        date_to := date_to
    )
), sites AS (
    SELECT DISTINCT p.part_typ, p.test_stage, p.lot_id, p.wafer_id, p.file_path, p.node_nam, p.day,
        p.week, p.bin_type, p.head_num, p.site_num
    FROM p
), bins AS (
    SELECT p.part_typ, p.test_stage, p.lot_id, p.wafer_id, p.file_path, p.node_nam, p.day, p.week,
        p.bin_type, p.bin_num, stdf_mode(histogram(p.bin_name)) AS bin_name,
        stdf_mode(histogram(p.bin_pf)) AS bin_pf
    FROM p GROUP BY ALL
), cells AS (
    SELECT s.part_typ, s.test_stage, s.lot_id, s.wafer_id, s.head_num, s.site_num, s.file_path,
        s.node_nam, s.day, s.week, s.bin_type, b.bin_num, b.bin_name, b.bin_pf,
        coalesce(p.count, 0) AS count
    FROM sites AS s
    JOIN bins AS b
        ON b.part_typ IS NOT DISTINCT FROM s.part_typ AND b.test_stage IS NOT DISTINCT FROM s.test_stage
       AND b.lot_id IS NOT DISTINCT FROM s.lot_id AND b.wafer_id IS NOT DISTINCT FROM s.wafer_id
       AND b.file_path IS NOT DISTINCT FROM s.file_path AND b.node_nam IS NOT DISTINCT FROM s.node_nam
       AND b.day IS NOT DISTINCT FROM s.day AND b.week IS NOT DISTINCT FROM s.week AND b.bin_type = s.bin_type
    LEFT JOIN p
        ON p.part_typ IS NOT DISTINCT FROM s.part_typ AND p.test_stage IS NOT DISTINCT FROM s.test_stage
       AND p.lot_id IS NOT DISTINCT FROM s.lot_id AND p.wafer_id IS NOT DISTINCT FROM s.wafer_id
       AND p.file_path IS NOT DISTINCT FROM s.file_path AND p.node_nam IS NOT DISTINCT FROM s.node_nam
       AND p.day IS NOT DISTINCT FROM s.day AND p.week IS NOT DISTINCT FROM s.week AND p.bin_type = s.bin_type
       AND p.head_num IS NOT DISTINCT FROM s.head_num AND p.site_num IS NOT DISTINCT FROM s.site_num
       AND p.bin_num IS NOT DISTINCT FROM b.bin_num
), s AS (
    SELECT c.*,
        sum(c.count) OVER site AS site_dice,
        sum(c.count) OVER grp AS all_dice,
        sum(c.count) OVER bin AS bin_dice
    FROM cells AS c
    WINDOW
        site AS (PARTITION BY c.part_typ, c.test_stage, c.lot_id, c.wafer_id, c.file_path, c.node_nam, c.day, c.week, c.bin_type, c.head_num, c.site_num),
        grp AS (PARTITION BY c.part_typ, c.test_stage, c.lot_id, c.wafer_id, c.file_path, c.node_nam, c.day, c.week, c.bin_type),
        bin AS (PARTITION BY c.part_typ, c.test_stage, c.lot_id, c.wafer_id, c.file_path, c.node_nam, c.day, c.week, c.bin_type, c.bin_num)
)
SELECT s.* EXCLUDE (all_dice, bin_dice),
    s.count / s.site_dice AS fraction,
    (s.bin_dice - s.count) / nullif(s.all_dice - s.site_dice, 0) AS others_fraction,
    s.count / s.site_dice - (s.bin_dice - s.count) / nullif(s.all_dice - s.site_dice, 0) AS deviation
FROM s
ORDER BY s.part_typ, s.test_stage, s.lot_id, s.wafer_id, s.file_path, s.node_nam, s.day, s.week, s.bin_type, s.bin_num, s.head_num, s.site_num;
