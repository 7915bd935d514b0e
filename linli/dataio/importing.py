"""The import pipeline: read in chunks → validate every row → (dry run: report) → write all or nothing.

A run is one pass over the stored file (STYLE.md "Bulk paths"). Rows are read in chunks of
:data:`CHUNK` and validated — cell by cell, against the registry (one query per chunk, never per
row), and across the file (duplicate IDs, household heads). Every problem becomes a
:class:`RowError` with row number, column and a bilingual reason. Only small per-file facts are
kept between chunks (an ID fingerprint per row, a summary per household), so memory stays flat
however long the file is.

A dry run stops there: its report. A commit runs the same pass inside one transaction, acting as
the importing user through the ``import`` channel, and writes each chunk as soon as it passed,
with the history-keeping bulk helpers; its checks see the registry as it is while it writes, so
nobody's change slips in between a check and the write. The first error stops the writing and
the pass goes on to report every error, exactly as the dry run would; then the transaction takes
back what was written. Any exception does the same: nothing is half-imported.

Two threads share the work: a worker parses the next chunk's cells and builds the rows of the
chunk just checked (CPU, no query), while the transaction's thread checks chunks against the
registry and sends rows (mostly waiting for the database). Checking, building and the database's
writing overlap on two cores (:class:`_Writer`).

A record type plugs in as a *spec* (see :mod:`linli.dataio.persons`): its columns, per-chunk
parse and check, cross-file checks and per-chunk write (keys drawn, rows built, rows sent).
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
    """A commit found errors; everything it had written is rolled back."""


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
    """What a record type provides to the pipeline.

    Checking a chunk takes two steps: :meth:`parse` (the cells; CPU only, no query: it runs in
    the worker thread) and :meth:`verify` (against the registry and the rest of the file, on the
    transaction's thread). Writing a chunk takes three: :meth:`reserve` (keys drawn), :meth:`build`
    (rows made; worker thread, no query) and :meth:`send` (rows written).
    """

    key: str
    title: str
    perm: str
    columns: list[Column]

    def start(self, run: "Run") -> object: ...

    def parse(self, state, chunk: list[tuple[int, dict]]) -> object: ...

    def verify(self, state, parsed) -> list:
        """The chunk's valid rows, as plans; its errors go to the run's report."""
        ...

    def finish(self, state) -> None:
        """Checks across the whole file, after its last chunk."""
        ...

    def prepare_write(self, state) -> None: ...

    def release(self, state, plans: list) -> tuple[list, list]:
        """The plans that can be written now, and those that must wait for the end of the file."""
        ...

    def stash(self, plans: list) -> object:
        """Waiting plans as plain, picklable values."""
        ...

    def restore(self, state, stashed) -> list:
        """Waiting plans back from :meth:`stash`'s form, after :meth:`finish`."""
        ...

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
    """Plans kept until the end of a commit, in order, on disk rather than in memory.

    An anonymous temporary file (unlinked at once, gone when closed or when the process dies) in
    the directory of the stored upload, which holds the same rows in clear text already. Held in
    memory, a file whose rows all wait (members listed before their heads) would make the
    import's memory grow with the file (it stays flat).
    """

    def __init__(self, directory: Path):
        self.directory = directory
        self.file = None
        self.count = 0

    def add(self, rows: int, stashed: object) -> None:
        if self.file is None:
            self.file = tempfile.TemporaryFile(dir=self.directory)  # noqa: SIM115 - closed by close()
        pickle.dump((rows, stashed), self.file, protocol=pickle.HIGHEST_PROTOCOL)
        self.count += 1

    def __iter__(self) -> Iterator[tuple[int, object]]:
        if self.file is None:
            return
        self.file.seek(0)
        for _ in range(self.count):
            yield pickle.load(self.file)  # noqa: S301 - written by this process, never by a user

    def close(self) -> None:
        if self.file is not None:
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


def _in_worker(worker: ThreadPoolExecutor, function, *args) -> Future:
    """``function(*args)`` in the worker thread, with this thread's context (the active language,
    the acting user) and every query refused."""
    return worker.submit(contextvars.copy_context().run, _without_queries, function, *args)


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
        self.writing = False  # a commit (the spec counts what it writes, not what it checked)
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

    # -- the pass -----------------------------------------------------------------------------
    @contextmanager
    def _survivors_frozen(self):
        """Objects alive at the end of each chunk leave the cyclic collector's view until the run ends.

        A run keeps per-file state that only grows (an ID fingerprint per row, a summary per
        household: ~1.5M tracked objects at 1M rows), and Python's full collections walked all of
        it again and again: 99 of them, 22 s of a 1M import's ~185 s of CPU. Inside this block the
        pass calls ``gc.freeze()`` (O(1)) after each chunk; at the end ``gc.unfreeze()`` gives
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

    def _pass(self, writer: "_Writer | None" = None):
        """Check every chunk; with a writer, write each one that passed while the next is checked.

        The worker thread parses chunk N+1 (cells only, no query) while this thread checks chunk N
        against the registry and sends chunk N-1's rows. Returns the spec's state.
        """
        spec = self.spec
        state = spec.start(self)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-worker") as worker:
            if writer is not None:
                writer.begin(state, worker)
            parsing: Future | None = None
            for chunk in self.chunks("write" if writer is not None else "check"):
                self.report.rows += len(chunk)
                upcoming = _in_worker(worker, spec.parse, state, chunk)
                if parsing is not None:
                    self._verify(state, parsing, writer)
                parsing = upcoming
            if parsing is not None:
                self._verify(state, parsing, writer)
            spec.finish(state)
            if writer is not None:
                writer.end()
        return state

    def _verify(self, state, parsing: Future, writer: "_Writer | None") -> None:
        plans = self.spec.verify(state, parsing.result())
        if writer is not None:
            writer.add(plans)
        self._freeze_survivors()

    def dry_run(self) -> Report:
        with self._survivors_frozen():
            self._pass()
        return self.report

    def commit(self, on_written: Callable[[Report], None] | None = None) -> Report:
        """Check and write in one pass, in one transaction. Raises :class:`ImportAborted` if anything is wrong.

        Each chunk is written as soon as it passed its checks, and nothing after the first error:
        an error anywhere (a cell, a duplicate ID further down, a household without a head) ends
        the run with the same report as the dry run, and the transaction takes back what was
        written before it. ``on_written`` runs inside the transaction after the last row (the
        audit record), so the import and its record commit together or not at all.
        """
        self.writing = True
        self.progress("write", 0, None)  # said before the transaction: SQLite shows nothing after it
        with self._survivors_frozen(), acting(self.user, channel=Channel.IMPORT), transaction.atomic():
            writer = _Writer(self)
            try:
                self._pass(writer)
            finally:
                writer.close()
            if not self.report.ok:
                # Raised inside the transaction: everything written before the first error is rolled back.
                raise ImportAborted(
                    f"发现 {len(self.report.errors)} 处错误，未导入任何数据 (errors found; nothing imported)"
                )
            if on_written is not None:
                on_written(self.report)
        if self.report.rows >= bulk.ANALYZE_AFTER_ROWS:
            bulk.analyze(*getattr(self.spec, "written_models", ()))
        logger.info("import %s by %s: %s", self.spec.key, self.user, self.report.counts)
        return self.report


class _Writer:
    """The write side of a commit: each chunk's rows built in the worker thread, sent from this one.

    Building (derived columns, encryption, history rows) is the app's CPU; sending is mostly
    waiting while the database writes rows and indexes. Chunk N's rows are built while chunk N-1
    is sent, so the two cores work at once. Every query stays on the transaction's thread; the
    worker thread is refused any. Rows the spec cannot build yet (a member whose household's
    grid is not known before its head row) wait in a :class:`Spill` until the end of the file.

    Sending from a third thread (through the same connection) was measured and dropped: three
    threads contending for the GIL made the app's CPU grow by a third (135 → 187 s for a million
    rows), and its COPY held the connection while it waited for the GIL, so the checks' queries
    waited too (241 → 302 s).
    """

    def __init__(self, run: Run):
        self.run = run
        self.spec = run.spec
        self.waiting = Spill(run.path.parent)
        # The chunk being built, and whether to analyse the tables after sending it.
        self.pending: tuple[Future, bool] | None = None
        self.done = 0
        self.analyze_at = bulk.ANALYZE_AFTER_ROWS

    def begin(self, state, worker: ThreadPoolExecutor) -> None:
        self.state, self.worker = state, worker
        self.spec.prepare_write(state)

    def add(self, plans: list) -> None:
        if not self.run.report.ok:
            self._drop()  # nothing more is written; the transaction will take back the rest
            return
        ready, waiting = self.spec.release(self.state, plans)
        if waiting:
            self.waiting.add(len(waiting), self.spec.stash(waiting))
        if ready:
            self._submit(ready)

    def end(self) -> None:
        """After the cross-file checks: the rows that waited, then the last chunk sent."""
        if not self.run.report.ok:
            self._drop()
            return
        for _rows, stashed in self.waiting:
            self._submit(self.spec.restore(self.state, stashed))
        if self.pending is not None:
            self._send(*self.pending)
            self.pending = None

    def close(self) -> None:
        """However the run ends (before its transaction does): nothing left building, the spill gone."""
        try:
            self._drop()
        finally:
            self.waiting.close()

    def _submit(self, plans: list) -> None:
        spec, state = self.spec, self.state
        reserved = spec.reserve(state, plans)
        building = _in_worker(self.worker, spec.build, state, plans, reserved)
        self.done += len(plans)
        analyze = self.done >= self.analyze_at
        if analyze:
            self.analyze_at = self.done * 2
        if self.pending is not None:
            self._send(*self.pending)
        self.pending = (building, analyze)

    def _send(self, building: Future, analyze: bool) -> None:
        self.spec.send(self.state, building.result())
        if analyze:
            # The planner knows the tables as they were before the import: into an empty
            # registry it plans the checks' key lookups as sequential scans, ~100 ms a chunk
            # at 1M rows. Statistics refreshed inside the transaction (ANALYZE sees its own
            # rows) each time the written rows double.
            queried = getattr(self.spec, "queried_fields", {})
            bulk.analyze(*queried, fields=queried)

    def _drop(self) -> None:
        """Nothing more is sent: the chunk being built is let finish, and dropped."""
        if self.pending is not None:
            self.pending[0].exception()
            self.pending = None
