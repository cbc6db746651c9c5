-- Die coordinates and final hard bin of one wafer (the first): the demo draws it as text.
-- Tables: `parts`.
SELECT wafer_id, x_coord, y_coord, hard_bin, passed
FROM parts
WHERE complete AND is_final AND x_coord IS NOT NULL AND y_coord IS NOT NULL
  AND wafer_id = (SELECT min(wafer_id) FROM parts WHERE wafer_id IS NOT NULL)
ORDER BY y_coord, x_coord;
