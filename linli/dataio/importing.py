"""The import pipeline: read in chunks → validate every row → (dry run: report) → write all or nothing.

A run makes two passes over the stored file (STYLE.md "Bulk paths"):

1. **Check.** Rows are read in chunks of :data:`CHUNK` and validated — cell by cell, against the
   registry (one query per chunk, never per row), and across the file (duplicate IDs, household
   heads). Every problem becomes a :class:`RowError` with row number, column and a bilingual
   reason. Only small per-file facts are kept between chunks (an ID fingerprint per row, a
   summary per household), so memory stays flat however long the file is.
2. **Write** (commit only, and only when pass 1 found nothing). Inside one transaction, acting as
   the importing user through the ``import`` channel, each chunk of rows that pass 1 checked is
   re-checked against the registry as it is now and written with the history-keeping bulk
   helpers; a worker thread builds the next chunk's rows while the current one is sent
   (:meth:`Run._write`). Any error or exception rolls the whole import back: nothing is
   half-imported.

The cells are parsed and validated once per run. A commit's pass 1 keeps each chunk's checked
rows (the spec's compact form of them) in an anonymous temporary file beside the stored upload
(:class:`Spill`), and pass 2 reads them back instead of parsing the file again; only the rules
that depend on the registry's current rows run again inside the transaction.

A record type plugs in as a *spec* (see :mod:`linli.dataio.persons`): its columns, per-chunk
check, cross-file checks, re-check against the registry and per-chunk write (keys drawn,
rows built, rows sent).
"""

import contextvars
import gc
import logging
import pickle
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from django.db import connections, transaction
from django.utils.translation import gettext

from linli.core import bulk, permissions
from linli.core.context import Channel, acting

from . import conf
from .columns import Column, match_header
from .reading import HEADER_SCAN_ROWS, Source, cell_text, is_blank, too_many_rows_message
from .safety import UnsafeFile

logger = logging.getLogger(__name__)

CHUNK = 2000
MAX_ERRORS = 50_000
EXAMPLE_MARK = "示例"


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    message: str


class ImportAborted(Exception):
    """The write pass met a problem (the registry changed since the check); everything is rolled back."""


@dataclass
class Report:
    """What a run found and (on commit) did."""

    rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    error_rows: set[int] = field(default_factory=set)
    truncated: bool = False
    ignored_columns: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, row: int, column: str, message: str) -> None:
        self.error_rows.add(row)
        if len(self.errors) >= MAX_ERRORS:
            self.truncated = True
            return
        self.errors.append(RowError(row, column, message))

    def count(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n

    @property
    def ok(self) -> bool:
        return not self.errors and not self.truncated

    def summary(self, shown: int | None = None) -> dict:
        shown = conf.stored_errors() if shown is None else shown
        ordered = sorted(self.errors, key=lambda e: (e.row, e.column))
        return {
            "rows": self.rows,
            "error_count": len(self.errors),
            "error_rows": len(self.error_rows),
            "truncated": self.truncated,
            "ignored_columns": self.ignored_columns,
            "counts": self.counts,
            "errors": [[e.row, e.column, e.message] for e in ordered[:shown]],
        }


class Spec(Protocol):
    """What a record type provides to the pipeline."""

    key: str
    title: str
    perm: str
    columns: list[Column]

    def start(self, run: "Run") -> object: ...

    def check(self, state, chunk: list[tuple[int, dict]]) -> list: ...

    def finish(self, state) -> None: ...

    def stash(self, plans: list) -> object:
        """The checked rows of a chunk as plain, picklable values (kept between the passes)."""
        ...

    def recheck(self, state, stashed) -> list:
        """Rebuild a chunk's plans from :meth:`stash`'s form and check them against the registry as it is now."""
        ...

    def prepare_write(self, state) -> None: ...

    def reserve(self, state, plans: list) -> object:
        """What building a chunk needs from the database (keys for its new rows)."""
        ...

    def build(self, state, plans: list, reserved) -> object:
        """A chunk's rows, ready to send. No query: it runs in a worker thread beside :meth:`send`."""
        ...

    def send(self, state, built) -> None:
        """Write a built chunk."""
        ...


class Spill:
    """Checked chunks kept between a commit's two passes, in order, on disk rather than in memory.

    An anonymous temporary file (unlinked at once, gone when closed or when the process dies) in
    the directory of the stored upload, which holds the same rows in clear text already. Kept in
    memory, the checked rows would make the import's memory grow with the file (it stays flat).
    """

    def __init__(self, directory: Path):
        self.file = tempfile.TemporaryFile(dir=directory)  # noqa: SIM115 - closed by close()
        self.count = 0

    def add(self, rows: int, stashed: object) -> None:
        pickle.dump((rows, stashed), self.file, protocol=pickle.HIGHEST_PROTOCOL)
        self.count += 1

    def __iter__(self) -> Iterator[tuple[int, object]]:
        self.file.seek(0)
        for _ in range(self.count):
            yield pickle.load(self.file)  # noqa: S301 - written by this process, never by a user

    def close(self) -> None:
        self.file.close()


Progress = Callable[[str, int, int | None], None]


def _no_progress(phase: str, done: int, total: int | None) -> None:
    pass


def _refuse_query(execute, sql, params, many, context):
    raise RuntimeError(f"a query while building import rows (they are built beside the write): {sql[:200]}")


def _without_queries(function, *args):
    """Run ``function`` with every query on this thread's connections refused: a query from a
    worker thread would run on a connection of its own, outside the import's transaction."""
    try:
        with ExitStack() as stack:
            for alias in connections:
                stack.enter_context(connections[alias].execute_wrapper(_refuse_query))
            return function(*args)
    finally:
        connections.close_all()  # this thread's own, if a refused query opened one


class Run:
    """One run of a spec over one stored file, for one user, optionally narrowed to an area."""

    def __init__(
        self,
        spec: Spec,
        path: Path,
        *,
        file_type: str,
        encoding: str = "",
        user,
        area=None,
        progress: Progress | None = None,
    ):
        self.spec = spec
        self.path = Path(path)
        self.file_type = file_type
        self.encoding = encoding
        self.user = user
        self.area = area
        self.progress = progress or _no_progress
        self.report = Report()
        self.scope_paths = self._scope(permissions.scope_paths(user, spec.perm), area)
        self.total_rows: int | None = None
        self._freezing = False

    @staticmethod
    def _scope(paths: list[str], area) -> list[str]:
        """The user's import scope, narrowed to the chosen area when one was chosen."""
        if area is None:
            return paths
        if permissions.covers(paths, area.path):
            return [area.path]
        return [p for p in paths if p.startswith(area.path)]

    def error(self, row: int, column: Column | str, message: str) -> None:
        self.report.add(row, column.header if isinstance(column, Column) else column, message)

    # -- reading ------------------------------------------------------------------------------
    def chunks(self, phase: str) -> Iterator[list[tuple[int, dict]]]:
        """Data rows as ``(row_number, {column_key: raw_cell})``, :data:`CHUNK` at a time."""
        source = Source(self.path, self.file_type, self.encoding)
        rows = source.rows()
        mapping = self._header(rows, first=phase == "check")
        limit = conf.max_rows()
        chunk: list[tuple[int, dict]] = []
        seen = 0
        for number, cells in rows:
            if is_blank(cells):
                continue
            values = {column.key: cells[i] for i, column in mapping.items() if i < len(cells)}
            if not seen and cell_text(cells[min(mapping)] if mapping else "").startswith(EXAMPLE_MARK):
                continue  # the template's example row
            seen += 1
            if seen > limit:
                raise UnsafeFile(too_many_rows_message())
            chunk.append((number, values))
            if len(chunk) >= CHUNK:
                yield chunk
                chunk = []
                self._tick(phase, seen, source)
        if chunk:
            yield chunk
        if not seen:
            raise UnsafeFile(gettext("文件中没有数据行 (the file has a header but no data rows)"))
        self.total_rows = seen
        self.progress(phase, seen, seen)

    def _tick(self, phase: str, seen: int, source: Source) -> None:
        total = self.total_rows
        if total is None and source.total_rows:
            total = source.total_rows
        if total is None:
            fraction = source.fraction_read()
            total = int(seen / fraction) if fraction else None
        self.progress(phase, seen, total)

    def _header(self, rows: Iterator[tuple[int, list]], *, first: bool) -> dict[int, Column]:
        columns = self.spec.columns
        required = [c for c in columns if c.required]
        best: tuple[int, list[str]] = (-1, [c.header for c in required])
        scanned = 0
        for _number, cells in rows:
            if is_blank(cells):
                continue
            mapping, unknown = match_header(cells, columns)
            found = {c.key for c in mapping.values()}
            missing = [c.header for c in required if c.key not in found]
            if not missing:
                if first:
                    self.report.ignored_columns = unknown
                return mapping
            if len(found) > best[0]:
                best = (len(found), missing)
            scanned += 1
            if scanned >= HEADER_SCAN_ROWS:
                break
        if best[0] < 0:
            raise UnsafeFile(gettext("文件为空 (the file is empty)"))
        expected = "、".join(c.header for c in columns)
        raise UnsafeFile(
            gettext(
                "表头不正确：缺少必填列 %(join)s。请使用下载的模板，表头应为：%(expected)s (wrong headers: required columns are missing)"
            )
            % {"join": "、".join(best[1]), "expected": expected}
        )

    # -- the two passes -----------------------------------------------------------------------
    @contextmanager
    def _survivors_frozen(self):
        """Objects alive at the end of each chunk leave the cyclic collector's view until the run ends.

        A run keeps per-file state that only grows (an ID fingerprint per row, a summary per
        household: ~1.5M tracked objects at 1M rows), and Python's full collections walked all of
        it again and again: 99 of them, 22 s of a 1M import's ~185 s of CPU. Inside this block the
        passes call ``gc.freeze()`` (O(1)) after each chunk; at the end ``gc.unfreeze()`` gives
        everything back to the collector. Garbage without cycles is freed by reference counting
        as always; cyclic garbage frozen meanwhile waits for the end of the run.
        """
        self._freezing = True
        try:
            yield
        finally:
            self._freezing = False
            gc.unfreeze()

    def _freeze_survivors(self) -> None:
        if self._freezing:
            gc.freeze()

    def check(self, spill: Spill | None = None):
        """Pass 1: validate everything; returns the spec's state for a following write.

        With ``spill``, each chunk's checked rows are kept there for the write pass.
        """
        state = self.spec.start(self)
        for chunk in self.chunks("check"):
            self.report.rows += len(chunk)
            plans = self.spec.check(state, chunk)
            if spill is not None and self.report.ok:  # after an error nothing will be written
                spill.add(len(chunk), self.spec.stash(plans))
            self._freeze_survivors()
        self.spec.finish(state)
        return state

    def _write(self, state, spill: Spill) -> None:
        """Write the checked chunks, building each one's rows while the one before is sent.

        Building (derived columns, encryption, history rows) is the app's CPU; sending is mostly
        waiting while the database writes rows and indexes. In turns, each waited for the other
        (a million rows: ~270 s of app CPU, ~380 s of waiting); a worker thread builds chunk N+1
        while the main thread sends chunk N, and the two cores work at once. Every query stays
        on the main thread, in the import's transaction; the worker thread is refused any.
        """
        spec = self.spec
        done = 0
        analyze_at = bulk.ANALYZE_AFTER_ROWS

        def send(rows: int, building: Future) -> None:
            nonlocal done
            spec.send(state, building.result())
            done += rows
            self.progress("write", done, self.total_rows)

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-build") as builder:
            pending: tuple[int, Future] | None = None
            for rows, stashed in spill:
                plans = spec.recheck(state, stashed)
                if not self.report.ok:
                    raise ImportAborted(
                        "写入时发现数据已被他人修改，已全部撤销，请重新校验 (the registry changed meanwhile; rolled back)"
                    )
                reserved = spec.reserve(state, plans)
                building = builder.submit(contextvars.copy_context().run, _without_queries, spec.build, state, plans,
                                          reserved)  # fmt: skip
                if pending is not None:
                    send(*pending)
                    if done >= analyze_at:
                        # The planner knows the tables as they were before the import: into an
                        # empty registry it plans the recheck's key lookups as sequential scans,
                        # ~100 ms a chunk at 1M rows. Statistics refreshed inside the transaction
                        # (ANALYZE sees its own rows) each time the written rows double.
                        bulk.analyze(*getattr(spec, "queried_models", ()))
                        analyze_at = done * 2
                    self._freeze_survivors()
                pending = (rows, building)
            if pending is not None:
                send(*pending)

    def dry_run(self) -> Report:
        with self._survivors_frozen():
            self.check()
        return self.report

    def commit(self, on_written: Callable[[Report], None] | None = None) -> Report:
        """Check, then write in one transaction. Raises :class:`ImportAborted` if anything is wrong.

        ``on_written`` runs inside the transaction after the last row (the audit record), so the
        import and its record commit together or not at all.
        """
        spill = Spill(self.path.parent)
        try:
            with self._survivors_frozen():
                state = self.check(spill)
                if not self.report.ok:
                    raise ImportAborted(
                        f"发现 {len(self.report.errors)} 处错误，未导入任何数据 (errors found; nothing imported)"
                    )
                counts_from_check = dict(self.report.counts)
                self.report.counts = {}
                with acting(self.user, channel=Channel.IMPORT), transaction.atomic():
                    self.spec.prepare_write(state)
                    self._write(state, spill)
                    if on_written is not None:
                        on_written(self.report)
        finally:
            spill.close()
        if self.report.rows >= bulk.ANALYZE_AFTER_ROWS:
            bulk.analyze(*getattr(self.spec, "written_models", ()))
        logger.info(
            "import %s by %s: %s (checked: %s)",
            self.spec.key,
            self.user,
            self.report.counts,
            counts_from_check,
        )
        return self.report
