"""The API contract does not change by accident: the generated OpenAPI schema must equal the
committed snapshot. After an intended change, refresh it with
``linli spectacular --file docs/api/openapi.yaml --validate`` and review the diff."""

from pathlib import Path

import yaml
from drf_spectacular.generators import SchemaGenerator

SNAPSHOT = Path(__file__).resolve().parents[3] / "docs" / "api" / "openapi.yaml"


def test_schema_matches_the_committed_snapshot():
    generated = SchemaGenerator().get_schema(request=None, public=True)
    committed = yaml.safe_load(SNAPSHOT.read_text(encoding="utf-8"))
    # Compare as data (key order and YAML layout do not matter); show the changed paths on failure.
    changed = sorted(
        path
        for path in set(generated["paths"]) | set(committed["paths"])
        if generated["paths"].get(path) != committed["paths"].get(path)
    )
    assert changed == [], f"API paths changed: {changed}; refresh docs/api/openapi.yaml if intended"
    assert yaml.safe_load(yaml.safe_dump(generated)) == committed
