"""Shared pytest fixtures for every app's tests (see linli/core/testing.py for the builders)."""

import os

import pytest

os.environ.setdefault("LINLI_TESTING", "1")


@pytest.fixture(autouse=True)
def _clear_code_cache():
    from linli.codes import lookup

    lookup.clear_cache()
    yield


@pytest.fixture
def area_tree(db):
    from linli.core.testing import build_area_tree

    return build_area_tree()


@pytest.fixture
def on_postgres():
    from django.db import connection

    return connection.vendor == "postgresql"


def _test_keyring() -> str:
    """A fixed keyring for the test run, so tests never touch var/keys."""
    import base64
    import json

    return json.dumps(
        {
            "active": "t1",
            "keys": {
                "t1": {"algorithm": "SM4-GCM", "secret": base64.b64encode(b"0123456789abcdef").decode()}
            },
            "index_secret": base64.b64encode(b"i" * 32).decode(),
        }
    )


os.environ.setdefault("LINLI_KEYRING", _test_keyring())
