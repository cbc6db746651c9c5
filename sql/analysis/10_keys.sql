-- Identity policies shared by every analysis (one owner per rule).
--
-- test_key: testers reuse test numbers (some V93000 programs write TEST_NUM 0 for every test;
-- program revisions rename tests), so tests are grouped by a policy:
--   'number'       the TEST_NUM alone (the spec's identity: right when numbers are unique),
--   'name'         the test name alone (stable across renumbered program revisions),
--   'number_name'  both (the default: never merges two different tests; a renamed test shows
--                  as two rows, which an engineer sees, rather than two tests mixed into one
--                  distribution, which nobody sees).
CREATE OR REPLACE MACRO stdf_test_key(policy, test_num, test_name) AS
    CASE policy
        WHEN 'number' THEN CAST(test_num AS VARCHAR)
        WHEN 'name' THEN coalesce(test_name, CAST(test_num AS VARCHAR))
        WHEN 'number_name' THEN CAST(test_num AS VARCHAR) || coalesce(':' || test_name, '')
        ELSE error('test_key must be ''number'', ''name'' or ''number_name'', not ''' || policy || '''')
    END;

-- die identity across the files of one product, lot and stage:
--   'xy'       (wafer_id, x, y) when both coordinates are present, else part_id, else the part;
--   'part_id'  part_id, else the part;
--   'none'     every part is its own die.
-- A die without a wafer_id is matched by (x, y) only inside its own file and wafer (two wafers
-- of a lot without WIR records must not merge); NULL means "the part itself".
CREATE OR REPLACE MACRO stdf_die_id(policy, file_id, wafer_index, wafer_id, x, y, part_id) AS
    CASE
        WHEN policy NOT IN ('xy', 'part_id', 'none')
            THEN error('die_key must be ''xy'', ''part_id'' or ''none'', not ''' || policy || '''')
        WHEN policy = 'none' THEN NULL
        WHEN policy = 'xy' AND x IS NOT NULL AND y IS NOT NULL THEN
            CASE WHEN wafer_id IS NOT NULL THEN 'w:' || wafer_id
                 ELSE 'f:' || file_id || ':' || coalesce(CAST(wafer_index AS VARCHAR), '') END
            || ':' || x || ':' || y
        WHEN part_id IS NOT NULL AND part_id <> '' THEN 'p:' || part_id
        ELSE NULL
    END;

-- the most frequent non-NULL value of a column, the smallest one on a tie (NULL when all are
-- NULL): `stdf_mode(histogram(x))`. DuckDB's mode() breaks ties by the order its threads meet
-- the rows, so a test named two ways in equal numbers would be named differently run to run.
CREATE OR REPLACE MACRO stdf_mode(h) AS
    list_sort(list_transform(map_entries(h),
        lambda e: {'n': -CAST(e.value AS BIGINT), 'v': e.key}))[1].v;
