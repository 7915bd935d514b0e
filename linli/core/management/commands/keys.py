"""``linli keys``: inspect and rotate the field-encryption keyring (issue 3, "key rotation").

    linli keys status              active key, algorithm, rows per key id in every encrypted column
    linli keys rotate              add a data key, make it active, re-encrypt every encrypted column
    linli keys rotate-index        new blind-index secret, recompute every blind-index column
    linli keys retire KEYID        drop an old data key (refused while any row still uses it)

Rotation is resumable: ``rotate`` records the key it is rotating to in the keyring file and,
when run again after an interruption, finishes that rotation instead of starting another.
Rows written with older keys stay readable throughout (the key id travels in each ciphertext).

``rotate-index`` computes the new indexes under a pending secret and switches at the end: while
it runs, rows already recomputed are not found by exact ID/phone or tail search (searches are
degraded until the switch). Restart the web server and workers after either rotation so their
cached keyring is reloaded, then run ``linli keys status`` (and ``rotate``/``rotate-index`` again
if rows written in the meantime still use the old key or index).

A keyring given in the ``LINLI_KEYRING`` environment variable cannot be rewritten here: rotate
it in whatever holds the secret, or move it into the keyring file.
"""

import base64
import json
import os
import secrets
import shutil
from collections import Counter
from contextlib import contextmanager
from datetime import UTC, datetime

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from linli.core import bulk, crypto
from linli.core.fields import EncryptedTextField

BATCH = 500


# -- keyring file ---------------------------------------------------------------------------------
def _refuse_env() -> None:
    if os.environ.get("LINLI_KEYRING"):
        raise CommandError(
            "密钥来自环境变量 LINLI_KEYRING，无法在此轮换 (the keyring comes from the LINLI_KEYRING "
            "environment variable and cannot be rewritten here: rotate it where the secret is kept, "
            "or move it into the keyring file LINLI_KEYRING_FILE)."
        )


def read_keyring_file() -> dict:
    path = crypto.keyring_path()
    if not path.exists():
        crypto.ensure_keyring_file()
    return json.loads(path.read_text(encoding="utf-8"))


def write_keyring_file(data: dict) -> None:
    """Back the current file up, then replace it atomically (temp file + os.replace, mode 0600)."""
    path = crypto.keyring_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        backup = path.with_name(f"{path.name}.{stamp}.bak")
        fd = os.open(backup, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out, path.open("rb") as src:
            shutil.copyfileobj(src, out)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    crypto.reset_keyring_cache()


@contextmanager
def keyring_override(data: dict):
    """Make :func:`linli.core.crypto.keyring` return ``data`` for the duration (this process only)."""
    saved = os.environ.get("LINLI_KEYRING")
    os.environ["LINLI_KEYRING"] = json.dumps(data)
    crypto.reset_keyring_cache()
    try:
        yield crypto.keyring()
    finally:
        if saved is None:
            os.environ.pop("LINLI_KEYRING", None)
        else:
            os.environ["LINLI_KEYRING"] = saved
        crypto.reset_keyring_cache()


# -- encrypted columns ----------------------------------------------------------------------------
def encrypted_columns():
    """(model, field) for every concrete EncryptedTextField of every installed model."""
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        for field in model._meta.concrete_fields:
            if isinstance(field, EncryptedTextField):
                yield model, field


def select_raw(model, field, last, limit: int, *, for_update: bool = False) -> list[tuple]:
    """Up to ``limit`` (pk, ciphertext bytes) after pk ``last``: raw column values, never decrypted."""
    qn = connection.ops.quote_name
    pk, col = qn(model._meta.pk.column), qn(field.column)
    where = f"{col} IS NOT NULL" + (f" AND {pk} > %s" if last is not None else "")
    # Identifiers come from model metadata and are quoted; values are parameters.
    sql = f"SELECT {pk}, {col} FROM {qn(model._meta.db_table)} WHERE {where} ORDER BY {pk} LIMIT %s"  # noqa: S608
    if for_update and connection.features.has_select_for_update:
        sql += " FOR UPDATE"
    params = ([last] if last is not None else []) + [limit]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [(row[0], bytes(row[1])) for row in cursor.fetchall()]


def raw_batches(model, field, batch: int = BATCH):
    """Yield lists of (pk, ciphertext bytes) in pk order."""
    last = None
    while rows := select_raw(model, field, last, batch):
        yield rows
        last = rows[-1][0]


def key_counts(model, field) -> Counter:
    counts: Counter = Counter()
    for rows in raw_batches(model, field, 5000):
        counts.update(crypto.Keyring.key_id_of(blob) for _pk, blob in rows)
    return counts


def label(model, field) -> str:
    return f"{model._meta.label_lower}.{field.name}"


# -- blind indexes --------------------------------------------------------------------------------
def _person_indexes():
    from linli.registry.models import Person

    fields = ["id_number_bidx", "id_tail4_bidx", "id_tail5_bidx", "id_tail6_bidx", "phone_bidx",
              "phone_tail4_bidx"]  # fmt: skip

    def recompute(obj, _ring):
        obj.derive()

    return Person, fields, recompute


def _event_indexes():
    from linli.events.models import Event

    def recompute(obj, ring):
        phone = obj.contact_phone or ""
        obj.contact_phone_bidx = ring.blind_index("phone", phone) if phone else ""

    return Event, ["contact_phone_bidx"], recompute


def blind_index_columns():
    """(model, blind-index fields, recompute(obj, keyring)) for every model with blind indexes."""
    result = []
    for factory, app in ((_person_indexes, "registry"), (_event_indexes, "events")):
        if apps.is_installed(f"linli.{app}"):
            result.append(factory())
    return result


# -- the command ----------------------------------------------------------------------------------
class Command(BaseCommand):
    help = "Show and rotate the field-encryption keys (status, rotate, rotate-index, retire KEYID)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("status", help="active key, algorithm and rows per key id in each encrypted column")
        rotate = sub.add_parser("rotate", help="add a new data key, make it active, re-encrypt every column")
        rotate.add_argument("--batch-size", type=int, default=BATCH)
        index = sub.add_parser("rotate-index", help="new blind-index secret; recompute every blind index")
        index.add_argument("--batch-size", type=int, default=BATCH)
        retire = sub.add_parser("retire", help="remove an old data key that no row uses any more")
        retire.add_argument("key_id")

    def handle(self, *args, action, **options):
        handler = {
            "status": self.status,
            "rotate": self.rotate,
            "rotate-index": self.rotate_index,
            "retire": self.retire,
        }[action]
        handler(**options)

    def say(self, message: str) -> None:
        self.stdout.write(message)

    # -- status ---------------------------------------------------------------------------------
    def status(self, **_options):
        ring = crypto.keyring()
        source = "环境变量 LINLI_KEYRING" if os.environ.get("LINLI_KEYRING") else str(crypto.keyring_path())
        self.say(f"keyring: {source}")
        self.say(f"active key: {ring.active_id} ({ring.active.algorithm})")
        for key_id, key in sorted(ring.keys.items()):
            self.say(f"  key {key_id}: {key.algorithm}{' (active)' if key_id == ring.active_id else ''}")
        if not os.environ.get("LINLI_KEYRING"):
            data = read_keyring_file()
            if data.get("rotation"):
                self.say(f"unfinished rotation to {data['rotation']['to']}: run `linli keys rotate` again")
            if data.get("index_rotation"):
                self.say("unfinished blind-index rotation: run `linli keys rotate-index` again")
        for model, field in encrypted_columns():
            counts = key_counts(model, field)
            detail = ", ".join(f"{k}: {n}" for k, n in sorted(counts.items())) or "no rows"
            self.say(f"{label(model, field)}: {detail}")

    # -- rotate ---------------------------------------------------------------------------------
    def rotate(self, batch_size=BATCH, **_options):
        _refuse_env()
        data = read_keyring_file()
        pending = data.get("rotation")
        if pending and pending.get("to") == data["active"]:
            self.say(f"resuming the rotation to key {data['active']}")
        else:
            n = len(data["keys"]) + 1
            while f"k{n}" in data["keys"]:
                n += 1
            key_id = f"k{n}"
            data["keys"][key_id] = crypto.new_key_entry()
            data["active"] = key_id
            data["rotation"] = {"to": key_id, "started": datetime.now(UTC).isoformat()}
            write_keyring_file(data)
            self.say(f"new active key {key_id} ({data['keys'][key_id]['algorithm']})")
        ring = crypto.keyring()
        total = 0
        for model, field in encrypted_columns():
            total += self._reencrypt(model, field, ring, batch_size)
        data = read_keyring_file()
        data.pop("rotation", None)
        write_keyring_file(data)
        self.say(f"done: {total} values re-encrypted with key {ring.active_id}")

    def _reencrypt(self, model, field, ring, batch_size: int) -> int:
        """Re-encrypt one column, a batch per transaction, rows already on the active key skipped.

        The new ciphertext is written with ``Model._base_manager`` (a plain queryset) as raw
        bytes. The model's own manager and ``save()`` record every change in the change history
        (``core.ObjectChange``); a re-encryption changes no value, only how it is stored, so going
        through them would add one spurious history row per person per rotation (and the logged
        "before"/"after" ciphertexts would differ while the values do not). Raw bytes pass through
        ``EncryptedTextField.get_db_prep_value`` unchanged, so nothing is decrypted or re-encrypted
        twice; the value is read and written under a row lock (``FOR UPDATE`` on PostgreSQL,
        SQLite serialises writers), so a concurrent edit cannot be overwritten by stale plaintext.
        """
        name, done, seen = label(model, field), 0, 0
        manager = model._base_manager
        last = None
        while True:
            with transaction.atomic():
                rows = select_raw(model, field, last, batch_size, for_update=True)
                if not rows:
                    break
                for pk, blob in rows:
                    if crypto.Keyring.key_id_of(blob) == ring.active_id:
                        continue
                    fresh = ring.encrypt(ring.decrypt(blob, field.aad), field.aad)
                    manager.filter(pk=pk).update(**{field.attname: fresh})
                    done += 1
                seen += len(rows)
                last = rows[-1][0]
            self.say(f"{name}: {seen} rows checked, {done} re-encrypted")
        if not seen:
            self.say(f"{name}: no rows")
        return done

    # -- rotate-index ---------------------------------------------------------------------------
    def rotate_index(self, batch_size=BATCH, **_options):
        _refuse_env()
        data = read_keyring_file()
        pending = data.get("index_rotation")
        if pending:
            self.say("resuming the blind-index rotation")
        else:
            pending = {"secret": base64.b64encode(secrets.token_bytes(32)).decode()}
            data["index_rotation"] = pending
            write_keyring_file(data)
        self.say(
            "注意：重算期间按证件号/手机号（含尾号）的检索可能查不到已重算的记录 (searches by ID/phone are degraded until the switch)"
        )
        future = {k: v for k, v in data.items() if k not in ("rotation", "index_rotation")}
        future["index_secret"] = pending["secret"]
        total = 0
        # Blind indexes are derived values: written with the plain base manager (no history rows,
        # like the re-encryption above), each batch in its own transaction.
        with keyring_override(future) as ring:
            for model, fields, recompute in blind_index_columns():
                name, count = model._meta.label_lower, 0
                queryset = model._base_manager.order_by("pk")
                last = None
                while True:
                    with transaction.atomic():
                        batch = queryset.filter(pk__gt=last) if last is not None else queryset
                        objs = list(batch.select_for_update()[:batch_size])
                        if not objs:
                            break
                        for obj in objs:
                            recompute(obj, ring)
                        bulk.update(model, objs, fields)
                        count += len(objs)
                        last = objs[-1].pk
                    self.say(f"{name}: {count} rows recomputed")
                total += count
        data = read_keyring_file()
        data["index_secret"] = pending["secret"]
        data.pop("index_rotation", None)
        write_keyring_file(data)
        self.say(f"done: {total} rows carry the new blind indexes; the new index secret is active")

    # -- retire ---------------------------------------------------------------------------------
    def retire(self, key_id, **_options):
        _refuse_env()
        data = read_keyring_file()
        if key_id not in data["keys"]:
            raise CommandError(f"no key {key_id!r} in the keyring")
        if key_id == data["active"]:
            raise CommandError(f"key {key_id} is the active key; rotate first")
        if (data.get("rotation") or {}).get("to"):
            raise CommandError("a rotation is unfinished: run `linli keys rotate` first")
        in_use = {}
        for model, field in encrypted_columns():
            n = key_counts(model, field).get(key_id, 0)
            if n:
                in_use[label(model, field)] = n
        if in_use:
            detail = ", ".join(f"{k}: {n}" for k, n in in_use.items())
            raise CommandError(f"key {key_id} is still used ({detail}); run `linli keys rotate` first")
        del data["keys"][key_id]
        write_keyring_file(data)
        self.say(f"key {key_id} retired")
