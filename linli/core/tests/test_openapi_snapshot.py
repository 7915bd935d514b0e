"""The API contract does not change by accident: the generated OpenAPI schema must equal the
committed snapshot. After an intended change, refresh it with
``linli spectacular --file docs/api/openapi.yaml --validate`` and review the diff."""

from pathlib import Path

import yaml
from drf_spectacular.generators import SchemaGenerator

SNAPSHOT = Path(__file__).resolve().parents[3] / "docs" / "api" / "openapi.yaml"


def backend_neutral(node):
    """Integer bounds come from the database backend (SQLite reports 64-bit ranges for small
    integers, PostgreSQL the real ones); the contract is the same, so leave them out."""
    if isinstance(node, dict):
        if node.get("type") == "integer":
            node = {k: v for k, v in node.items() if k not in {"maximum", "minimum", "format"}}
        return {k: backend_neutral(v) for k, v in node.items()}
    if isinstance(node, list):
        return [backend_neutral(v) for v in node]
    return node


def test_schema_matches_the_committed_snapshot():
    generated = backend_neutral(
        yaml.safe_load(yaml.safe_dump(SchemaGenerator().get_schema(request=None, public=True)))
    )
    committed = backend_neutral(yaml.safe_load(SNAPSHOT.read_text(encoding="utf-8")))
    # Compare as data (key order and YAML layout do not matter); show the changed paths on failure.
    changed = sorted(
        path
        for path in set(generated["paths"]) | set(committed["paths"])
        if generated["paths"].get(path) != committed["paths"].get(path)
    )
    assert changed == [], f"API paths changed: {changed}; refresh docs/api/openapi.yaml if intended"
    assert generated == committed
