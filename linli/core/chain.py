"""Tamper evidence: a hash chain per append-only table, sealed after the fact.

Rows of a :class:`ChainedModel` (the change history :class:`~linli.core.models.ObjectChange`
and the audit trail's ``AuditEvent``) are inserted *unsealed*: ``seal_seq``, ``prev_hash`` and
``hash`` are empty. Writers therefore never queue on a global lock inside their own, possibly
long, transaction (a 1M-row import writes 1M history rows). A separate sealer, :func:`seal`, run
by ``linli audit seal`` in a loop and before every verification:

1. locks the chain's :class:`ChainHead` row (``SELECT … FOR UPDATE`` on PostgreSQL; on SQLite
   the ``IMMEDIATE`` transaction already holds the database's write lock);
2. reads the unsealed rows that are committed, in id order;
3. gives each the next ``seal_seq`` and ``hash = sha256(prev_hash || canonical JSON of the row)``;
4. moves the head forward, and commits.

A row whose transaction commits late, after rows with larger ids were sealed, is sealed by a
later run: the chain's order is the seal order, not the id order. ``seal_seq`` is unique, so two
sealers that somehow ran at once could not fork the chain: the second would fail on the
constraint instead.

:func:`verify` walks the sealed rows in ``seal_seq`` order and reports every row whose content no
longer matches its hash (modified), every gap in the sequence or broken ``prev_hash`` link
(deleted, or inserted in the middle), and any row beyond the head or a head beyond the last row
(forged or truncated tail). The retention purge (:func:`purge`) removes rows only from the start of
the chain and keeps the sequence number and hash of the last removed row as a checkpoint, from
which verification then starts.

Limits: the hash is unkeyed, so someone who can rewrite *every* row after a point and the head
too can recompute a consistent chain; the chain proves that a partial edit happened, and the
head's hash, noted down outside the database (``linli audit verify`` prints it), anchors the rest.
On PostgreSQL a trigger (:func:`install_guard`) also refuses updates of row content and deletions
unless the purge has set ``linli.allow_purge``; SQLite relies on the chain alone.
"""

import base64
import datetime as dt
import decimal
import hashlib
import json
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.db import connections, models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from linli.core import bulk

#: The columns that make up the chain itself; they are never part of a row's hashed content.
CHAIN_COLUMNS = ("seal_seq", "prev_hash", "hash")
SEAL_BATCH = 1000
VERIFY_CHUNK = 2000
# A chain whose head was lost would otherwise report every row; the first findings tell the story.
MAX_PROBLEMS = 1000


class ChainedModel(models.Model):
    """Abstract base of an append-only, hash-chained table.

    ``chain_exclude`` names fields left out of the hash because the database itself may change
    them: a ``SET_NULL`` foreign key to a user (deleting a user must not break the chain; the row
    keeps a username snapshot, which *is* hashed). The PostgreSQL guard allows exactly these
    columns to change on a sealed row.

    Concrete models should add :func:`unsealed_index` to their ``Meta.indexes`` so the sealer
    finds pending rows without scanning the table.
    """

    chain_exclude: tuple[str, ...] = ()

    # Database defaults too, so that a bulk path writing rows outside the ORM (COPY) may leave the
    # chain columns out and still insert unsealed rows.
    seal_seq = models.BigIntegerField(
        gettext_lazy("链序号"), null=True, blank=True, unique=True, editable=False
    )
    prev_hash = models.CharField(max_length=64, blank=True, editable=False, db_default="")
    hash = models.CharField(max_length=64, blank=True, editable=False, db_default="")

    class Meta:
        abstract = True

    @property
    def sealed(self) -> bool:
        return self.seal_seq is not None


def unsealed_index(name: str) -> models.Index:
    """A partial index over the rows still waiting for the sealer (normally a handful)."""
    return models.Index(fields=["id"], name=name, condition=models.Q(seal_seq__isnull=True))


class ChainHead(models.Model):
    """The end of one chain (the last sealed row) and the purge checkpoint at its start.

    One row per chained table, keyed by the model's label (``core.objectchange``). Sealers lock
    this row, so they run one at a time per chain; writers never touch it.
    """

    chain = models.CharField(max_length=100, unique=True)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, blank=True)
    checkpoint_seq = models.BigIntegerField(default=0)
    checkpoint_hash = models.CharField(max_length=64, blank=True)
    sealed_at = models.DateTimeField(null=True, blank=True)
    purged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "core"
        verbose_name = gettext_lazy("链头 chain head")
        verbose_name_plural = gettext_lazy("链头 chain heads")

    def __str__(self):
        return f"{self.chain} #{self.seq}"

    @property
    def last_hash(self) -> str:
        return self.hash or genesis(self.chain)

    @property
    def start_hash(self) -> str:
        return self.checkpoint_hash or genesis(self.chain)


def chain_name(model) -> str:
    return model._meta.label_lower


def genesis(chain: str) -> str:
    """The ``prev_hash`` of a chain's first row: distinct per chain, so rows cannot be swapped."""
    return hashlib.sha256(f"linli-chain:{chain}".encode()).hexdigest()


def chained_fields(model) -> list[models.Field]:
    exclude = set(CHAIN_COLUMNS) | set(model.chain_exclude)
    return [f for f in model._meta.concrete_fields if f.name not in exclude]


def _canonical_value(field: models.Field, value):
    if value is None:
        return None
    if field.is_relation and field.related_model is ContentType:
        # By natural key: the chain survives a dump and restore that renumbers content types.
        ct = ContentType.objects.get_for_id(value)
        return f"{ct.app_label}.{ct.model}"
    if isinstance(value, dt.datetime):
        if timezone.is_aware(value):
            value = value.astimezone(dt.UTC)
        return value.isoformat(timespec="microseconds")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode()
    return value


def canonical(row: ChainedModel) -> str:
    """The row's hashed content: its chain, its ``seal_seq`` and every chained field, as JSON.

    Keys are sorted and separators fixed, so the same values always give the same text; values
    are read back from the database both when sealing and when verifying, so each backend's
    own representation (timestamp precision, JSON number forms) is compared with itself.
    """
    model = type(row)
    data = {"_chain": chain_name(model), "seal_seq": row.seal_seq}
    for field in chained_fields(model):
        data[field.attname] = _canonical_value(field, getattr(row, field.attname))
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def row_hash(row: ChainedModel, prev_hash: str) -> str:
    return hashlib.sha256((prev_hash + canonical(row)).encode("utf-8")).hexdigest()


def _locked_head(model, using: str) -> ChainHead:
    name = chain_name(model)
    # Create outside the lock (idempotent, safe against a concurrent first run), then lock.
    ChainHead.objects.using(using).get_or_create(chain=name)
    return ChainHead.objects.using(using).select_for_update().get(chain=name)


def seal(model, *, batch: int = SEAL_BATCH, using: str = "default") -> int:
    """Seal every committed, unsealed row of ``model``; returns how many were sealed.

    Each batch is one short transaction holding the chain head's lock, so a sealer never blocks
    writers and two sealers take turns instead of forking the chain.
    """
    total = 0
    # Keyset: each batch starts after the last row sealed by this call. Sealed rows leave dead
    # entries in the partial "unsealed" index until VACUUM; scanning it from the start each time made
    # a 3.7M-row backlog quadratic (the 500th batch stepped over 491,000 dead entries, 285 ms). Rows
    # that commit late below the mark are picked up by a final pass from the start.
    after = 0
    while True:
        with transaction.atomic(using=using):
            head = _locked_head(model, using)
            pending = model._base_manager.using(using).filter(seal_seq__isnull=True, pk__gt=after)
            rows = list(pending.order_by("pk")[:batch])
            if not rows:
                if after == 0:
                    return total
                after = 0
                continue
            seq, prev = head.seq, head.last_hash
            for row in rows:
                seq += 1
                row.seal_seq = seq
                row.prev_hash = prev
                row.hash = row_hash(row, prev)
                prev = row.hash
            bulk.update(model, rows, list(CHAIN_COLUMNS), using=using)
            head.seq, head.hash, head.sealed_at = seq, prev, timezone.now()
            head.save(update_fields=["seq", "hash", "sealed_at"])
        total += len(rows)
        after = rows[-1].pk


@dataclass(frozen=True)
class Problem:
    """One finding of :func:`verify`, worded in Chinese and English."""

    chain: str
    seq: int | None
    kind: str  # modified | deleted | forged | head | stopped
    zh: str
    en: str

    def __str__(self):
        where = f"第 {self.seq} 条 / seq {self.seq}" if self.seq is not None else "链头 / head"
        return f"[{self.chain}] {where}: {self.zh} ({self.en})"


@dataclass
class Report:
    """What :func:`verify` found for one chain."""

    chain: str
    checked: int
    head_seq: int
    head_hash: str
    checkpoint_seq: int
    unsealed: int
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return not self.problems


def _sealed_rows(model, using: str, after: int) -> Iterator[ChainedModel]:
    queryset = model._base_manager.using(using).filter(seal_seq__gt=after).order_by("seal_seq")
    return queryset.iterator(chunk_size=VERIFY_CHUNK)


def verify(model, *, using: str = "default") -> Report:
    """Recompute the chain of ``model`` from its checkpoint and report every inconsistency.

    Detects a modified row (its hash no longer matches its content, or its stored hash was
    changed), a deleted row (a gap in ``seal_seq`` or a ``prev_hash`` that does not link to the
    previous row), a row inserted with a forged hash or sequence number, and a tail that was cut
    off or extended (the head no longer matches the last row). Rows still waiting to be sealed
    are counted, not judged: run :func:`seal` first.
    """
    name = chain_name(model)
    head = ChainHead.objects.using(using).filter(chain=name).first() or ChainHead(chain=name)
    problems: list[Problem] = []
    expected_seq = head.checkpoint_seq + 1
    prev = head.start_hash
    checked = 0
    last_seq, last_hash = head.checkpoint_seq, head.start_hash
    for row in _sealed_rows(model, using, head.checkpoint_seq):
        checked += 1
        seq = row.seal_seq
        if seq > head.seq:
            problems.append(
                Problem(
                    name,
                    seq,
                    "forged",
                    "链头之后出现未经封存的记录（伪造插入）",
                    "row beyond the sealed head: forged insertion",
                )
            )
        if seq != expected_seq:
            missing = f"{expected_seq}" if seq == expected_seq + 1 else f"{expected_seq}–{seq - 1}"
            problems.append(
                Problem(
                    name,
                    expected_seq,
                    "deleted",
                    f"序号 {missing} 的记录缺失（被删除）",
                    f"rows {missing} are missing: deleted",
                )
            )
        elif row.prev_hash != prev:
            problems.append(
                Problem(
                    name,
                    seq,
                    "deleted",
                    "与前一条记录的链接断开（记录被删除、替换或插入）",
                    "broken link to the previous row: a row was deleted, replaced or inserted",
                )
            )
        if row.hash != row_hash(row, row.prev_hash):
            problems.append(
                Problem(
                    name,
                    seq,
                    "modified",
                    "记录内容与哈希不符（被篡改）",
                    "row content does not match its hash: modified",
                )
            )
        # Continue from what this row claims, so one tampered row is reported once, not forever.
        expected_seq, prev = seq + 1, row.hash
        last_seq, last_hash = seq, row.hash
        if len(problems) >= MAX_PROBLEMS:
            problems.append(
                Problem(
                    name,
                    seq,
                    "stopped",
                    "问题过多，校验在此中止",
                    "too many problems; verification stopped here",
                )
            )
            break
    # After a cut-off scan the tail checks would only repeat what the findings already say.
    stopped = len(problems) > MAX_PROBLEMS
    if not stopped and last_seq < head.seq:
        problems.append(
            Problem(
                name,
                last_seq + 1,
                "deleted",
                f"链尾序号 {last_seq + 1}–{head.seq} 的记录缺失（被删除）",
                f"rows {last_seq + 1}–{head.seq} at the end of the chain are missing: deleted",
            )
        )
    elif not stopped and last_seq == head.seq and last_hash != head.last_hash:
        problems.append(
            Problem(
                name,
                None,
                "head",
                "最后一条记录与链头哈希不符",
                "the last row does not match the chain head's hash",
            )
        )
    unsealed = model._base_manager.using(using).filter(seal_seq__isnull=True).count()
    return Report(name, checked, head.seq, head.last_hash, head.checkpoint_seq, unsealed, problems)


def purge(
    model, cutoff: dt.datetime, *, time_field: str = "time", using: str = "default"
) -> tuple[int, ChainHead]:
    """Delete sealed rows older than ``cutoff``, only from the start of the chain.

    Chain order is seal order, so a row sealed late may be older than rows before it; purging
    stops at the first row (in chain order) that is still within retention, and leaves
    unsealed rows alone. The head keeps the sequence number and hash of the last deleted row as
    the checkpoint :func:`verify` starts from. Returns the number of rows deleted and the head.
    """
    name = chain_name(model)
    with transaction.atomic(using=using):
        head = _locked_head(model, using)
        rows = model._base_manager.using(using)
        keep = rows.filter(seal_seq__gt=head.checkpoint_seq, **{f"{time_field}__gte": cutoff})
        stop = keep.aggregate(first=models.Min("seal_seq"))["first"]
        upper = head.seq if stop is None else stop - 1
        if upper <= head.checkpoint_seq:
            return 0, head
        last = rows.filter(seal_seq=upper).values_list("hash", flat=True).first()
        if last is None:
            raise ChainBroken(
                f"[{name}] 第 {upper} 条记录缺失，拒绝清理 (row {upper} is missing; refusing to purge)"
            )
        allow_purge(using)
        deleted, _ = rows.filter(seal_seq__gt=head.checkpoint_seq, seal_seq__lte=upper).delete()
        head.checkpoint_seq, head.checkpoint_hash, head.purged_at = upper, last, timezone.now()
        head.save(update_fields=["checkpoint_seq", "checkpoint_hash", "purged_at"])
        return deleted, head


class ChainBroken(Exception):
    """The chain is not intact where an operation needs it to be."""


def allow_purge(using: str = "default") -> None:
    """Let the PostgreSQL guard accept deletions until the end of the current transaction."""
    connection = connections[using]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('linli.allow_purge', 'on', true)")


# --- PostgreSQL guard ------------------------------------------------------------------------
# The function takes the table's chain_exclude columns as trigger arguments. Content may never
# change (an unsealed row may only gain its seal, once); a sealed row keeps its seal; deletion
# needs linli.allow_purge, which only purge() sets, for its own transaction.
GUARD_FUNCTION = r"""
CREATE OR REPLACE FUNCTION linli_chain_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    volatile_cols text[] := ARRAY['seal_seq', 'prev_hash', 'hash'] || TG_ARGV;
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF coalesce(current_setting('linli.allow_purge', true), '') = 'on' THEN
            RETURN OLD;
        END IF;
        RAISE EXCEPTION 'linli: % 为只追加表，禁止删除 (append-only table: DELETE refused; id %)',
            TG_TABLE_NAME, OLD.id USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF (to_jsonb(NEW) - volatile_cols) IS DISTINCT FROM (to_jsonb(OLD) - volatile_cols) THEN
        RAISE EXCEPTION 'linli: % 记录不可修改 (append-only table: UPDATE of row content refused; id %)',
            TG_TABLE_NAME, OLD.id USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.seal_seq IS NOT NULL AND (
        NEW.seal_seq IS DISTINCT FROM OLD.seal_seq
        OR NEW.prev_hash IS DISTINCT FROM OLD.prev_hash
        OR NEW.hash IS DISTINCT FROM OLD.hash
    ) THEN
        RAISE EXCEPTION 'linli: % 已封存记录不可修改 (sealed row cannot be changed; id %)',
            TG_TABLE_NAME, OLD.id USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;
"""


def _guard_trigger_name(table: str) -> str:
    return f"{table}_chain_guard"


def install_guard(schema_editor, table: str, volatile: Sequence[str] = ()) -> None:
    """Install the append-only trigger on ``table`` (PostgreSQL only; a no-op elsewhere).

    Call from a migration's ``RunPython``. ``volatile`` lists the columns the database itself may
    change on a sealed row: the model's ``chain_exclude`` columns, written out in the migration
    so that it keeps meaning what it meant when it was written.
    """
    if schema_editor.connection.vendor != "postgresql":
        return
    args = ", ".join(schema_editor.quote_value(c) for c in volatile)
    name = schema_editor.quote_name(_guard_trigger_name(table))
    schema_editor.execute(GUARD_FUNCTION, params=None)
    schema_editor.execute(f"DROP TRIGGER IF EXISTS {name} ON {schema_editor.quote_name(table)}")
    schema_editor.execute(
        f"CREATE TRIGGER {name} BEFORE UPDATE OR DELETE ON {schema_editor.quote_name(table)} "
        f"FOR EACH ROW EXECUTE FUNCTION linli_chain_guard({args})"
    )


def remove_guard(schema_editor, table: str) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"DROP TRIGGER IF EXISTS {schema_editor.quote_name(_guard_trigger_name(table))} "
        f"ON {schema_editor.quote_name(table)}"
    )
