"""What the CLI prints: tables (rich), JSON, sizes in MB."""

from __future__ import annotations

import datetime as _dt
import sys
from typing import Any

import click


def jsonable(v: Any) -> Any:
    if isinstance(v, (_dt.datetime, _dt.date)):
        return v.isoformat()
    if isinstance(v, float) and (v != v or v in (float("inf"), float("-inf"))):
        return None
    if isinstance(v, bytes):
        return v.hex()
    if isinstance(v, dict):
        return {k: jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    return v


def num(v: Any) -> str:
    return "-" if v is None else (f"{v:,}" if isinstance(v, int) else str(v))


def print_info(d: dict[str, Any]) -> None:
    name = d["path"] + (
        f"  [stream {d['stream_index']} of {d['stream_count']}]" if (d.get("stream_count") or 1) > 1 else ""
    )
    size = f"{num(d['file_size'])} bytes" + (
        f", {num(d['stream_size'])} decompressed" if d.get("compression") not in (None, "none") else ""
    )
    click.echo(click.style(name, bold=True))
    rows = [
        (
            "file",
            f"{d['compression']}, {size}, {d['byte_order']}-endian, STDF V{d['stdf_ver']}"
            + (f" ({', '.join(d['stdf_extensions'])})" if d.get("stdf_extensions") else ""),
        ),
        ("file_id", d["file_id"]),
        ("lot", f"{num(d['lot_id'])}" + (f" (sublot {d['sblot_id']})" if d.get("sblot_id") else "")),
        ("part type", num(d["part_typ"])),
        ("stage", f"{num(d['test_stage'])} (TEST_COD {num(d['test_cod'])}, FLOW_ID {num(d['flow_id'])})"),
        (
            "tester",
            f"{num(d['tstr_typ'])}, node {num(d['node_nam'])}, {num(d['exec_typ'])} {d.get('exec_ver') or ''}".rstrip(),
        ),
        ("program", f"{num(d['job_nam'])}" + (f" rev {d['job_rev']}" if d.get("job_rev") else "")),
        ("time", f"{num(d['start_time'])} -> {num(d['finish_time'])}"),
        ("records", f"{num(d['n_records'])}: " + ", ".join(f"{k} {v:,}" for k, v in d["record_counts"].items())),
    ]
    y = d.get("yield_final")
    rows.append(
        (
            "parts",
            f"{num(d['n_parts'])} tested, {num(d['n_parts_final'])} final, {num(d['n_passed_final'])} passed"
            + (f", yield {100 * y:.2f} %" if y is not None else ""),
        )
    )
    rows.append(
        (
            "content",
            f"wafers {num(d['n_wafers'])}, sites {num(d['n_sites'])}, tests {num(d['n_tests'])}, results {num(d['n_results'])}",
        )
    )
    rows.append(("complete", "yes" if d["complete"] else "no"))
    rows.append(("warnings", num(d["n_warnings"])))
    for k, v in rows:
        click.echo(f"  {k:<10} {v}")
    for w in d["warnings"][:5]:
        at = f" at byte {w['byte_offset']:,}" if w.get("byte_offset") is not None else ""
        click.echo(f"    {w['code']}{at}: {w['message']}")
    if len(d["warnings"]) > 5:
        click.echo(f"    ... {len(d['warnings']) - 5} more")


def mb(n: float) -> str:
    return f"{n / 1e6:,.1f}"


def print_summary(report: Any) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False, soft_wrap=True)
    dt = max(report.seconds, 1e-9)
    tab = Table(box=box.SIMPLE_HEAD, title=f"archive {report.archive}", title_justify="left", show_footer=False)
    tab.add_column("files")
    tab.add_column("count", justify="right")
    tab.add_column("MB", justify="right")
    tab.add_column("rows", justify="right")
    labels = {
        "ok": "written",
        "partial": "partial (written up to damage)",
        "unchanged": "unchanged (skipped)",
        "duplicate": "duplicate (skipped)",
        "skipped": "failed before (skipped)",
        "failed": "failed",
    }
    for st, label in labels.items():
        items = [o for o in report.outcomes if o.status == st]
        if st == "skipped" and not items:
            continue
        tab.add_row(
            label,
            f"{len(items):,}",
            mb(sum(o.size for o in items)),
            f"{sum(o.n_rows for o in items):,}" if st in ("ok", "partial") else "",
        )
    console.print(tab)
    rows = report.rows()
    if any(rows.values()):
        console.print("rows written: " + ", ".join(f"{t} {n:,}" for t, n in rows.items()))
    route = f", {report.route} route" if report.route else ""
    line = f"{report.seconds:.1f} s, {report.workers} worker{'s' if report.workers != 1 else ''}{route}, "
    line += f"{report.bytes_processed / 1e6 / dt:,.1f} MB/s read"
    if report.stream_bytes_processed != report.bytes_processed:
        line += f" ({report.stream_bytes_processed / 1e6 / dt:,.1f} MB/s of decompressed STDF)"
    console.print(line)
    if report.failed:  # each one was reported on stderr as it happened
        console.print(
            f"{len(report.failed)} file{'s' if len(report.failed) > 1 else ''} failed; the errors are in the ledger: "
            f"stdf-duck query --archive {report.archive} \"SELECT path, error FROM ingest WHERE status = 'failed'\"",
            style="red",
        )
    if report.partial:
        console.print(
            f"{len(report.partial)} file{'s' if len(report.partial) > 1 else ''} lost rows (decode ended on damage; its rows "
            f"before are in): stdf-duck query --archive {report.archive} \"SELECT * FROM warnings WHERE path = '...'\"",
            style="red",
        )
    if report.count("skipped"):
        console.print(
            f"{report.count('skipped')} file(s) failed before with the same size and mtime and were not read "
            "again (stdf-duck status lists them; --retry-failed reads them)"
        )


def print_sync_summary(report: Any, cfg: Any) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False, soft_wrap=True)
    states = tuple(
        s
        for s in (
            "unchanged",
            "ingested",
            "partial",
            "duplicate",
            "downloaded",
            "unstable",
            "skipped",
            "failed",
            "error",
            "rejected",
        )
        if s == "ingested" or report.count(s)
    )
    tab = Table(
        box=box.SIMPLE_HEAD,
        title=f"sync into {report.archive}" + (" (dry run)" if report.dry_run else ""),
        title_justify="left",
    )
    tab.add_column("source")
    tab.add_column("listed", justify="right")
    actions = tuple(
        a
        for a in ("unchanged", "download", "ingest", "wait", "skip", "reject")
        if a == "download" or any(e.action == a for e in report.entries)
    )
    if report.dry_run:
        for a in actions:
            tab.add_column(a, justify="right")
    else:
        for s in states:
            tab.add_column(s, justify="right")
    tab.add_column("MB down", justify="right")
    names = [
        s.name for s in cfg.sources if any(e.source == s.name for e in report.entries) or s.name in report.source_errors
    ]
    for n in names:
        es = [e for e in report.entries if e.source == n]
        if report.dry_run:
            cells = [str(sum(1 for e in es if e.action == a)) for a in actions]
        else:
            cells = [str(sum(1 for e in es if e.state == s)) for s in states]
        tab.add_row(n, str(len(es)), *cells, mb(sum(e.downloaded for e in es)))
    console.print(tab)
    for n, err in report.source_errors.items():
        console.print(f"{n}: cannot list the source: {err}", style="red")
    dt = max(report.seconds, 1e-9)
    if not report.dry_run:
        n_in = report.count("ingested") + report.count("duplicate")
        console.print(
            f"{report.seconds:.1f} s; {n_in} file(s) ingested ({n_in / dt:.1f} files/s, {report.bytes_ingested / 1e6 / dt:,.1f} MB/s), "
            f"{mb(report.bytes_downloaded)} MB downloaded"
        )
        if report.failed:
            console.print(f"{len(report.failed)} file(s) failed: stdf-duck status --config {cfg.path}", style="red")
    else:
        for e in report.entries:
            if e.action in ("download", "ingest", "wait", "reject"):
                console.print(f"  {e.action:<8} {e.source}: {e.rel}  ({e.size:,} bytes)")


def print_status(st: dict[str, Any], failures: int) -> None:
    """`stdf-duck status`: the ledger in short (`stdf_duck.sync.status`)."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    con = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
    con.print(f"[bold]archive[/bold] {st['archive']}")
    ing = st["ingest"]
    con.print(
        "ingested files: "
        + (", ".join(f"{k} {v:,}" for k, v in ing.items()) or "none")
        + f"; {mb(st['ingest_bytes'])} MB of STDF in the archive"
    )
    if st["last_sync"]:
        t = Table(box=box.SIMPLE_HEAD, title="last sync per source", title_justify="left")
        for c in (
            "source",
            "url",
            "finished",
            "status",
            "listed",
            "ingested",
            "duplicate",
            "unstable",
            "failed",
            "MB down",
            "s",
        ):
            t.add_column(
                c,
                justify="right"
                if c in ("listed", "ingested", "duplicate", "unstable", "failed", "MB down", "s")
                else "left",
            )
        for r in st["last_sync"]:
            t.add_row(
                r["source"],
                r["url"],
                str(r["finished_at"] or r["started_at"])[:19],
                r["status"] + (f": {r['error']}" if r["error"] else ""),
                *(
                    str(r[k] if r[k] is not None else "")
                    for k in ("n_listed", "n_ingested", "n_duplicate", "n_unstable", "n_failed")
                ),
                mb(r["bytes_downloaded"] or 0),
                f"{r['seconds'] or 0:.1f}",
            )
        con.print(t)
    if st["sync"]:
        t = Table(box=box.SIMPLE_HEAD, title="sync ledger: files by state", title_justify="left")
        for c in ("source", "state", "files", "MB"):
            t.add_column(c, justify="right" if c in ("files", "MB") else "left")
        for r in st["sync"]:
            t.add_row(r["source"], r["state"], f"{r['n']:,}", mb(r["bytes"] or 0))
        con.print(t)
    in_sync = {r["key"] for r in st["sync_failures"]}
    fails = st["sync_failures"] + [r for r in st["failures"] if r["file"] not in in_sync]
    if fails:
        t = Table(box=box.SIMPLE_HEAD, title="failures (latest first)", title_justify="left")
        for c in ("when", "file", "state", "error"):
            t.add_column(c, overflow="fold")
        for r in fails[:failures]:
            name = f"{r['source']}: {r['file']}" if "source" in r else r["file"]
            t.add_row(str(r["at"])[:19], name, r.get("state", "failed"), r["error"] or "")
        con.print(t)
