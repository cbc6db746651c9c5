-- The relations an analysis reads: stdf_relation(src, tbl, product, stage, lot) is the SQL text of
-- the relation <src><tbl> (tbl: 'parts', 'files', 'results', 'wafers'), read by the analyses as
-- query(stdf_relation(...)) with the filters they are given. Here it is the view of that name
-- (an archive's views, or the views a caller makes over files); the filters are applied by the
-- analyses themselves. A stdf_duck connection on an archive replaces it with the same views' SQL
-- over the partition directories of the product, stage and lot asked (stdf_duck/archive/
-- catalog.py, relation_macro): one lot of a 1,000-file archive then lists and opens that lot's
-- files only. Same rows either way.
CREATE OR REPLACE MACRO stdf_relation(src, tbl, product, stage, lot) AS
    'SELECT * FROM ' || src || tbl;

-- A partition value as a glob segment: the value when no character of it is special to a glob,
-- a path or an SQL string (* ? [ ] { } / \ ' "), else '*' (every directory; the analysis filters
-- the rows anyway).
CREATE OR REPLACE MACRO stdf_glob_value(v) AS
    CASE WHEN v IS NOT NULL AND length(CAST(v AS VARCHAR)) BETWEEN 1 AND 180
              AND length(translate(CAST(v AS VARCHAR), '*?[]{}/\''"', '')) = length(CAST(v AS VARCHAR))
         THEN CAST(v AS VARCHAR) ELSE '*' END;
