"""``linli keys``: status, rotate (re-encrypt), rotate-index (blind indexes), retire."""

import io
import json
import stat

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from conftest import _test_keyring
from linli.core import crypto
from linli.core.history import history_of
from linli.core.management.commands.keys import raw_batches
from linli.core.testing import make_person
from linli.registry.models import Person

PHONE = "13812345678"


@pytest.fixture
def keyring_file(tmp_path, settings, monkeypatch):
    path = tmp_path / "keys" / "keyring.json"
    path.parent.mkdir()
    path.write_text(_test_keyring(), encoding="utf-8")
    path.chmod(0o600)
    settings.LINLI_KEYRING_FILE = path
    monkeypatch.delenv("LINLI_KEYRING", raising=False)
    crypto.reset_keyring_cache()
    yield path
    crypto.reset_keyring_cache()


@pytest.fixture
def people(area_tree, keyring_file):
    return [
        make_person(area_tree["grids"][i % 2], name=f"测试{i}", phone=f"1391234{i:04d}") for i in range(5)
    ]


def run(*args) -> str:
    out = io.StringIO()
    call_command("keys", *args, stdout=out)
    return out.getvalue()


def key_ids(field_name: str) -> set[str]:
    field = Person._meta.get_field(field_name)
    return {crypto.Keyring.key_id_of(blob) for rows in raw_batches(Person, field) for _pk, blob in rows}


@pytest.mark.django_db
def test_status_counts_rows_per_key(people):
    out = run("status")
    assert "active key: t1" in out
    assert "registry.person.id_number: t1: 5" in out
    assert "registry.person.phone: t1: 5" in out


@pytest.mark.django_db
def test_rotate_reencrypts_every_row_without_history(people, keyring_file):
    before = {p.pk: (p.id_number, p.phone) for p in Person.objects.all()}
    changes = sum(history_of(p).count() for p in people)
    out = run("rotate", "--batch-size", "2")
    assert "new active key k2" in out
    data = json.loads(keyring_file.read_text())
    assert data["active"] == "k2" and "t1" in data["keys"] and "rotation" not in data
    assert stat.S_IMODE(keyring_file.stat().st_mode) == 0o600
    assert list(keyring_file.parent.glob("keyring.json.*.bak"))
    assert key_ids("id_number") == {"k2"} and key_ids("phone") == {"k2"}
    crypto.reset_keyring_cache()
    after = {p.pk: (p.id_number, p.phone) for p in Person.objects.all()}
    assert after == before
    assert sum(history_of(p).count() for p in people) == changes  # no spurious history rows
    # Running again adds another key and leaves the values readable.
    run("rotate")
    assert key_ids("phone") == {"k3"}
    assert {p.pk: (p.id_number, p.phone) for p in Person.objects.all()} == before


@pytest.mark.django_db
def test_rotate_resumes_an_unfinished_rotation(people, keyring_file):
    data = json.loads(keyring_file.read_text())
    data["keys"]["k2"] = crypto.new_key_entry()
    data["active"] = "k2"
    data["rotation"] = {"to": "k2"}
    keyring_file.write_text(json.dumps(data))
    crypto.reset_keyring_cache()
    make_person(people[0].area, name="新人", phone=PHONE)  # written with k2 already
    out = run("rotate")
    assert "resuming" in out
    assert key_ids("id_number") == {"k2"}
    assert "k3" not in json.loads(keyring_file.read_text())["keys"]


@pytest.mark.django_db
def test_retire_refused_while_used_then_allowed(people, keyring_file):
    with pytest.raises(CommandError, match="active"):
        run("retire", "t1")
    data = json.loads(keyring_file.read_text())
    data["keys"]["k2"] = crypto.new_key_entry()
    data["active"] = "k2"
    keyring_file.write_text(json.dumps(data))
    crypto.reset_keyring_cache()
    with pytest.raises(CommandError, match="still used"):
        run("retire", "t1")
    run("rotate")  # k3, re-encrypts everything
    run("retire", "t1")
    assert "t1" not in json.loads(keyring_file.read_text())["keys"]
    crypto.reset_keyring_cache()
    assert Person.objects.get(pk=people[0].pk).phone == people[0].phone


@pytest.mark.django_db
def test_rotate_index_keeps_search_working(people, keyring_file):
    target = people[3]
    old_bidx = Person.objects.get(pk=target.pk).phone_bidx
    old_secret = json.loads(keyring_file.read_text())["index_secret"]
    run("rotate-index", "--batch-size", "2")
    data = json.loads(keyring_file.read_text())
    assert data["index_secret"] != old_secret and "index_rotation" not in data
    crypto.reset_keyring_cache()
    fresh = Person.objects.get(pk=target.pk)
    assert fresh.phone_bidx != old_bidx
    assert list(Person.objects.with_phone(target.phone)) == [fresh]
    assert list(Person.objects.with_phone_tail(target.phone[-4:])) == [fresh]
    assert list(Person.objects.with_id_number(target.id_number)) == [fresh]
    for n in (4, 5, 6):
        assert fresh in Person.objects.with_id_tail(target.id_number[-n:])


@pytest.mark.django_db
def test_env_keyring_refused(monkeypatch, settings, tmp_path):
    settings.LINLI_KEYRING_FILE = tmp_path / "keyring.json"
    monkeypatch.setenv("LINLI_KEYRING", _test_keyring())
    crypto.reset_keyring_cache()
    for args in (("rotate",), ("rotate-index",), ("retire", "t1")):
        with pytest.raises(CommandError, match="LINLI_KEYRING"):
            run(*args)
    assert not (tmp_path / "keyring.json").exists()
    assert connection.vendor in {"sqlite", "postgresql"}
