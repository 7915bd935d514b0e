"""Reusing a cached scale database first applies the migrations it lacks (new indexes reach it)."""

import json

from bench import prepare


def test_a_reused_scale_database_is_migrated_first(tmp_path, monkeypatch):
    monkeypatch.setenv("LINLI_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)  # SQLite: no server to ask
    calls = []
    monkeypatch.setattr(prepare, "linli", lambda t, *args, log=None, **extra: calls.append(args))
    t = prepare.scale_target(50)
    t.var_dir.mkdir(parents=True)
    t.marker.write_text(json.dumps({"people": 50, "seed": 1, "event_days": 3}))

    reused = prepare.ensure_scale(50, seed=1, event_days=3, log=lambda line: None)

    assert reused == t
    assert calls == [("migrate", "--noinput")]  # and no init/demo: the data is kept
