-- The stdf_files row of each FAR..MRR stream of one source file.
SELECT * FROM stdf_files(${path}, on_error := ${on_error}) ORDER BY stream_index
