"""One benchmark measurement, run in a fresh process by bench/run.py.

Usage: python _worker.py '{"op": ..., "paths": [...], "threads": 1, "repeat": 3, ...}'

Runs under either the project venv (stdf_duck ops) or bench/.peers-venv (stdf-convert and
pystdf ops): only the modules of the chosen op are imported. Prints one JSON line:
{"ok": true, "best_s": ..., "times_s": [...], "cpu_s": ..., "rows": ..., "peak_rss_mb": ...,
 "bytes_done": ... (only when a time cap stopped the run early)}.
Timed region: the call that parses the files and consumes every batch; the interpreter start,
imports and opening of the output are outside it. Peak RSS is the process high-water mark
(ru_maxrss of this process, all threads), so it includes the interpreter and imports.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


# ---- stdf_duck ---------------------------------------------------------------------------


def duck_stream(spec: dict) -> dict:
    """Stream a stdf_duck table through pyarrow, batch by batch, keeping nothing."""
    import pyarrow as pa

    import stdf_duck

    t = stdf_duck.read(
        spec["table"],
        spec["paths"],
        columns=spec.get("columns"),
        threads=spec["threads"],
        on_error=spec.get("on_error", "raise"),
    )

    def run() -> dict:
        rows = 0
        nbytes = 0
        reader = pa.RecordBatchReader.from_stream(t)
        for b in reader:
            rows += b.num_rows
            nbytes = max(nbytes, b.nbytes)
        return {"rows": rows, "max_batch_mb": round(nbytes / 1e6, 2), "ncols": len(reader.schema)}

    return run


def duck_sql(spec: dict):
    """DuckDB over the registered stdf_duck object: count(*), sum(result)."""
    import duckdb

    import stdf_duck

    con = duckdb.connect()
    if spec["threads"] == 1:
        con.execute("SET threads = 1")
    t = stdf_duck.read(
        "results",
        spec["paths"],
        columns=spec.get("columns"),
        threads=spec["threads"],
        on_error=spec.get("on_error", "raise"),
    )
    con.register("r", t)

    def run() -> dict:
        n, s = con.execute("select count(*), sum(result) from r").fetchall()[0]
        return {"rows": int(n), "sum": float(s) if s is not None else None}

    return run


def duck_native(spec: dict):
    """The design-target form: SQL over the stdf_results() table function of the bundled DuckDB
    extension (stdf_duck.connect()); projection is pushed down by DuckDB itself.
    kind "count_sum": count(*), sum(result); kind "parquet": COPY stdf_results TO zstd Parquet."""
    import stdf_duck

    con = stdf_duck.connect()
    route = stdf_duck.route(con)
    if spec["threads"] == 1:
        con.execute("SET threads = 1")
    paths = "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in spec["paths"]) + "]"
    src = f"stdf_results({paths}, threads := {int(spec['threads'])})"
    kind = spec.get("kind", "count_sum")
    out_path = spec.get("out")

    def run() -> dict:
        if kind == "parquet":
            n = con.execute(
                f"COPY (SELECT * FROM {src}) TO '{out_path}' (FORMAT parquet, COMPRESSION zstd)"
            ).fetchall()[0]
            size = os.path.getsize(out_path)
            os.remove(out_path)
            return {"rows": int(n[0]) if n else None, "parquet_mb": round(size / 1e6, 1), "route": route}
        n, s = con.execute(f"select count(*), sum(result) from {src}").fetchall()[0]
        return {"rows": int(n), "sum": float(s) if s is not None else None, "route": route}

    return run


def duck_parquet_direct(spec: dict):
    """stdf_duck.parse_to_parquet: parts, tests and results of one file as zstd Parquet (Rust route)."""
    import shutil
    import tempfile

    import stdf_duck

    def run() -> dict:
        d = tempfile.mkdtemp(dir=spec.get("tmpdir"))
        try:
            r = stdf_duck.parse_to_parquet(spec["paths"][0], d, "P", "T")
            size = sum(os.path.getsize(os.path.join(a, f)) for a, _, fs in os.walk(d) for f in fs)
        finally:
            shutil.rmtree(d, ignore_errors=True)
        return {"rows": int(r.get("results", 0)), "parquet_mb": round(size / 1e6, 1)}

    return run


# ---- stdf-convert ------------------------------------------------------------------------


def sc_batches(spec: dict):
    """stdf-convert batches(): every record type parsed and streamed, batches discarded."""
    import stdf_convert

    def run() -> dict:
        rows = 0
        for p in spec["paths"]:
            for _typ, b in stdf_convert.batches(p, spec.get("record_types")):
                rows += b.num_rows
        return {"rows": rows}

    return run


def sc_tables(spec: dict):
    """stdf-convert tables(): every record type materialised as pyarrow Tables."""
    import stdf_convert

    def run() -> dict:
        rows = 0
        for p in spec["paths"]:
            ts = stdf_convert.tables(p, spec.get("record_types"))
            rows += sum(t.num_rows for t in ts.values())
            del ts
        return {"rows": rows}

    return run


def sc_ptr_sum(spec: dict):
    """stdf-convert's nearest equivalent of count(*), sum(result): the PTR table, then a sum."""
    import pyarrow.compute as pc
    import stdf_convert

    def run() -> dict:
        n = 0
        s = 0.0
        for p in spec["paths"]:
            ptr = stdf_convert.tables(p, ["PTR"]).get("PTR")
            if ptr is None:
                continue
            col = ptr.column("RESULT")
            n += ptr.num_rows
            v = pc.sum(col.cast("float64")).as_py()
            s += v or 0.0
            del ptr, col
        return {"rows": n, "sum": s}

    return run


# ---- pystdf ------------------------------------------------------------------------------


class _Stop(Exception):
    pass


def _open_any(path: str):
    if path.endswith(".gz"):
        import gzip

        return gzip.open(path, "rb")
    if path.endswith(".bz2"):
        import bz2

        return bz2.open(path, "rb")
    if path.endswith(".zip"):
        import io
        import zipfile

        z = zipfile.ZipFile(path)
        return io.BufferedReader(z.open(z.namelist()[0]))  # type: ignore[arg-type]
    return open(path, "rb", buffering=1 << 20)


def pystdf_parse(spec: dict):
    """pystdf's standard whole-file parse: IO.Parser with a sink counting records.
    With time_cap_s, the parse stops at the first record after the cap and reports the bytes
    decoded so far (MB/s is then computed on those bytes)."""
    from pystdf.IO import Parser

    cap = spec.get("time_cap_s")

    def run() -> dict:
        rows = 0
        done = 0
        stopped = False
        for p in spec["paths"]:
            f = _open_any(p)
            counts = {"n": 0}
            deadline = time.perf_counter() + cap if cap else None

            class Sink:  # used within this iteration only
                def after_send(self, source, data, counts=counts, deadline=deadline):  # noqa: ANN001
                    counts["n"] += 1
                    if deadline is not None and (counts["n"] & 1023) == 0 and time.perf_counter() > deadline:
                        raise _Stop()

            parser = Parser(inp=f)
            parser.addSink(Sink())
            try:
                parser.parse()
            except _Stop:
                stopped = True
                done += f.tell()
            else:
                done += f.tell()
            rows += counts["n"]
            f.close()
            if stopped:
                break
        out = {"rows": rows}
        if stopped:
            out["bytes_done"] = done
        return out

    return run


OPS = {
    "duck_stream": duck_stream,
    "duck_sql": duck_sql,
    "duck_native": duck_native,
    "duck_parquet_direct": duck_parquet_direct,
    "sc_batches": sc_batches,
    "sc_tables": sc_tables,
    "sc_ptr_sum": sc_ptr_sum,
    "pystdf_parse": pystdf_parse,
}


def main() -> None:
    spec = json.loads(sys.argv[1])
    t_proc = time.perf_counter()
    rss_before = None
    try:
        run = OPS[spec["op"]](spec)
        rss_before = _rss_mb()  # interpreter + imports, before any parsing
        times = []
        cpus = []
        res: dict = {}
        for _ in range(max(1, int(spec.get("repeat", 1)))):
            c0 = _cpu()
            t0 = time.perf_counter()
            res = run()
            times.append(time.perf_counter() - t0)
            cpus.append(_cpu() - c0)
            if "bytes_done" in res:  # capped run: one is enough
                break
        best = min(range(len(times)), key=times.__getitem__)
        out = {
            "ok": True,
            "best_s": times[best],
            "times_s": times,
            "cpu_s": cpus[best],
            "peak_rss_mb": round(_rss_mb(), 1),
            "base_rss_mb": round(rss_before, 1),
            **res,
        }
    except Exception as e:  # reported, not raised: the table shows the failure
        out = {"ok": False, "error": f"{type(e).__name__}: {e}"[:500], "peak_rss_mb": round(_rss_mb(), 1)}
    out["process_s"] = time.perf_counter() - t_proc
    sys.stdout.write("\n" + json.dumps(out) + "\n")


if __name__ == "__main__":
    main()
