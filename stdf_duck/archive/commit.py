"""The commit protocol: finished jobs -> the visible archive (parent side of a materialize).

For each batch of finished jobs (`Run.commit`):

1. the staged files are fsynced;
2. the ledger records an intent: each file's row with status 'committing', its temporary and final
   names (`staged`, `outputs`) and the outputs it replaces, in one transaction;
3. the staged files are renamed into place, then the replaced ones deleted (`move_into_place`,
   `unlink_output`);
4. the rows are marked 'ok' ('partial': the decode ended on damage; 'duplicate': the content is
   in the archive under another path) and a new catalog is published.

A run that starts after a kill rolls every 'committing' row forward (`Ledger.recover`), so a kill
at any moment leaves no partial Parquet file visible, and the next run completes the work.
"""

from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from . import schemas
from ._sql import named
from .files import fsync_path, move_into_place, remove, unlink_output
from .layout import ROW_COLUMNS
from .ledger import FINAL_STATUS, Ledger, utcnow
from .model import FileOutcome, MaterializeOptions, MaterializeReport, Progress
from .store import Archive
from .worker import JobResult


def _mtime(ns: int) -> _dt.datetime:
    return _dt.datetime.fromtimestamp(ns / 1e9, _dt.UTC).replace(tzinfo=None)


class _Held(NamedTuple):
    """An ingest row whose content is (or is being put) in the archive."""

    path: str
    file_id: str | None
    content_hash: str | None
    outputs: list[str] | None


class _Prev(NamedTuple):
    """The ingest row a path had before this commit."""

    path: str
    status: str
    outputs: list[str] | None
    file_id: str | None
    content_hash: str | None
    row_counts: list[int | None]  # ROW_COLUMNS, in order


@dataclass
class _Index:
    """What the ledger knows of the archive's content, for one commit."""

    by_id: dict[str, str] = field(default_factory=dict)  # file_id -> the path whose rows hold it
    by_hash: dict[str, str] = field(default_factory=dict)  # content_hash -> path
    referenced: dict[str, str] = field(default_factory=dict)  # output (relative) -> path
    prev: dict[str, _Prev] = field(default_factory=dict)  # path -> its row before this commit

    @classmethod
    def load(cls, con: Any, paths: list[str]) -> _Index:
        idx = cls()
        held = named(
            con,
            _Held,
            "SELECT path, file_id, content_hash, outputs FROM ingest "
            "WHERE status IN ('ok', 'partial', 'committing') OR (status = 'failed' AND len(outputs) > 0)",
        )
        for h in held:
            if h.file_id:
                idx.by_id[h.file_id] = h.path
            if h.content_hash:
                idx.by_hash[h.content_hash] = h.path
            for rel in h.outputs or []:
                idx.referenced[rel] = h.path
        sql = (
            f"SELECT path, status, outputs, file_id, content_hash, [{', '.join(ROW_COLUMNS)}] AS row_counts FROM ingest "
            "WHERE list_contains(?, path)"
        )
        idx.prev = {p.path: p for p in named(con, _Prev, sql, [paths])}
        return idx

    def owner(self, r: JobResult) -> str | None:
        """The other path whose rows hold this content (r is then a duplicate)."""
        if r.file_id and self.by_id.get(r.file_id, r.path) != r.path:
            return self.by_id[r.file_id]
        if r.content_hash and self.by_hash.get(r.content_hash, r.path) != r.path:
            return self.by_hash[r.content_hash]
        return None

    def take(self, r: JobResult, new_rel: list[str]) -> None:
        """r.path now holds r's content (and no longer its previous one)."""
        prev = self.prev.get(r.path)
        if prev is not None:
            if prev.file_id is not None and self.by_id.get(prev.file_id) == r.path:
                del self.by_id[prev.file_id]
            if prev.content_hash is not None and self.by_hash.get(prev.content_hash) == r.path:
                del self.by_hash[prev.content_hash]
        self.by_id[r.file_id or ""] = r.path
        if r.content_hash:
            self.by_hash[r.content_hash] = r.path
        for rel in new_rel:
            self.referenced[rel] = r.path


@dataclass
class _Batch:
    """What one commit writes: ledger rows, files to publish (with the outputs they replace), the
    paths whose previous content left the archive, and the outcomes."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    publish: list[tuple[JobResult, list[str]]] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    outcomes: list[FileOutcome] = field(default_factory=list)


class Run:
    """The state of one materialize run (parent side): finished jobs wait in `pending` until
    `commit()` publishes them."""

    def __init__(
        self, archive: Archive, options: MaterializeOptions, progress: Progress, report: MaterializeReport
    ) -> None:
        self.a = archive
        self.options = options
        self.progress = progress
        self.report = report
        self.pending: list[JobResult] = []
        self.started: dict[str, _dt.datetime] = {}
        self.run_id = 0
        self.writer = ""

    def commit(self) -> None:
        """Publish every finished job: intent, renames, deletions, final status, catalog (see
        the module doc)."""
        if not self.pending:
            return
        batch, self.pending = self.pending, []
        for r in batch:  # the data is on disk before the ledger says it can be published
            for tmp, _rel in r.outputs:
                fsync_path(tmp)
        with self.a.ledger.open() as con:
            b = self._decide(batch, _Index.load(con, [r.path for r in batch]))
            con.execute("BEGIN TRANSACTION")
            staged = [(tmp, rel.split("/", 1)[0]) for r, _ in b.publish for tmp, rel in r.outputs]
            schemas.update(con, staged, self.a.glob)  # before any rename: no view meets an unknown schema
            Ledger.upsert(con, b.rows)
            if b.stale:  # duplicates of content that is now gone must be ingested again
                con.execute(
                    "UPDATE ingest SET status = 'stale' WHERE status = 'duplicate' AND list_contains(?, duplicate_of) "
                    "AND NOT list_contains(?, path)",
                    [b.stale, [r["path"] for r in b.rows]],
                )
            con.execute("COMMIT")
            first = bool(b.publish) and not self.a.has_files("files")
            move_into_place((tmp, self.a.abs(rel)) for r, _ in b.publish for tmp, rel in r.outputs)
            for _r, replaced in b.publish:  # after every rename: only emptied directories go
                for rel in replaced:
                    unlink_output(self.a.abs(rel))
            if b.publish:
                con.execute(
                    f"UPDATE ingest SET status = {FINAL_STATUS}, staged = NULL, replaced = NULL "
                    "WHERE status = 'committing' AND list_contains(?, path)",
                    [[r.path for r, _ in b.publish]],
                )
            self.a.publish(con, force=first)  # the first files (new views) at once
        for o in b.outcomes:
            self.report.outcomes.append(o)
            self.progress.file_done(o)

    def _decide(self, batch: list[JobResult], idx: _Index) -> _Batch:
        now = utcnow()
        b = _Batch()
        for r in batch:
            prev = idx.prev.get(r.path)
            base = self._base(r, now)
            if r.status != "ok":
                self._failed(b, r, prev, base)
                continue
            base.update(
                file_id=r.file_id,
                content_hash=r.content_hash,
                n_streams=r.n_streams,
                stream_size=r.stream_size,
                n_warnings=r.n_warnings,
                damage=r.damage,
            )
            other = idx.owner(r)
            if other is not None:
                self._duplicate(b, r, prev, base, other, idx)
            else:
                self._written(b, r, prev, base, idx)
        return b

    def _base(self, r: JobResult, now: _dt.datetime) -> dict[str, Any]:
        """The ledger columns every row of this run has."""
        return {
            "path": r.path,
            "size": r.size,
            "mtime": _mtime(r.mtime_ns),
            "mtime_ns": r.mtime_ns,
            "product": self.options.product,
            "stage": self.options.stage,
            "on_error": self.options.on_error,
            "seconds": r.seconds,
            "started_at": self.started.get(r.path, now),
            "finished_at": now,
            "run_id": self.run_id,
            "writer": f"{self.writer} {r.route}".strip(),
        }

    @staticmethod
    def _failed(b: _Batch, r: JobResult, prev: _Prev | None, base: dict[str, Any]) -> None:
        row = dict(base, status="failed", error=r.error, n_warnings=r.n_warnings)
        prev_outputs = list(prev.outputs or []) if prev else []
        if prev and prev_outputs and prev.status in ("ok", "partial", "failed"):  # old rows stay until it reads again
            row.update(outputs=prev_outputs, file_id=prev.file_id, content_hash=prev.content_hash)
            row.update(zip(ROW_COLUMNS, prev.row_counts, strict=True))
        b.rows.append(row)
        b.outcomes.append(
            FileOutcome(r.path, "failed", r.size, seconds=r.seconds, error=r.error, stream_size=r.stream_size)
        )

    @staticmethod
    def _duplicate(b: _Batch, r: JobResult, prev: _Prev | None, base: dict[str, Any], other: str, idx: _Index) -> None:
        for tmp, _rel in r.outputs:
            remove(tmp)
        prev_outputs = list(prev.outputs or []) if prev else []
        replaced = [x for x in prev_outputs if idx.referenced.get(x) == r.path]
        status = "committing" if replaced else "duplicate"
        b.rows.append(dict(base, status=status, duplicate_of=other, outputs=[], staged=[], replaced=replaced or None))
        if replaced:
            b.publish.append((JobResult(r.path, r.size, r.mtime_ns, "duplicate"), replaced))
            b.stale.append(r.path)
        b.outcomes.append(
            FileOutcome(
                r.path,
                "duplicate",
                r.size,
                seconds=r.seconds,
                duplicate_of=other,
                file_id=r.file_id,
                stream_size=r.stream_size,
            )
        )

    def _written(self, b: _Batch, r: JobResult, prev: _Prev | None, base: dict[str, Any], idx: _Index) -> None:
        prev_outputs = list(prev.outputs or []) if prev else []
        new_rel = [rel for _tmp, rel in r.outputs]
        keep = set(new_rel)
        replaced = [x for x in prev_outputs if x not in keep and idx.referenced.get(x, r.path) == r.path]
        if prev_outputs and (prev is None or prev.file_id != r.file_id or prev.content_hash != r.content_hash):
            b.stale.append(r.path)
        part_typ, test_stage, lot_id = r.partitions[0] if r.partitions else (None, None, None)
        staged = [os.path.relpath(t, self.a.root).replace(os.sep, "/") for t, _ in r.outputs]
        row = dict(base, status="committing", part_typ=part_typ, test_stage=test_stage, lot_id=lot_id)
        row.update(outputs=new_rel, staged=staged, replaced=replaced)
        row.update({f"rows_{t}": n for t, n in r.rows.items()})
        b.rows.append(row)
        idx.take(r, new_rel)
        b.publish.append((r, replaced))
        b.outcomes.append(
            FileOutcome(
                r.path,
                "partial" if r.damage else "ok",
                r.size,
                dict(r.rows),
                r.seconds,
                error=r.damage,
                file_id=r.file_id,
                partitions=list(r.partitions),
                stream_size=r.stream_size,
            )
        )
