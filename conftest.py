"""Shared pytest fixtures for every app's tests (see linli/core/testing.py for the builders)."""

import os
import shutil

import pytest

os.environ.setdefault("LINLI_TESTING", "1")


@pytest.fixture(autouse=True)
def _clear_code_cache():
    from linli.codes import lookup

    lookup.clear_cache()
    yield


@pytest.fixture(autouse=True)
def _reference_data_for_transactional_tests(request):
    """Transactional tests flush every table after they run, migration-loaded data included;
    put the reference data back before each of them (serialized_rollback is fragile on SQLite)."""
    marker = request.node.get_closest_marker("django_db")
    if marker and (marker.kwargs.get("transaction") or (marker.args and marker.args[0])):
        request.getfixturevalue("transactional_db")
        from linli.reference import load_reference_data

        load_reference_data()


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


# -- browser tests: Playwright driving Debian's Chromium (never a downloaded browser) ---------------
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def pytest_collection_modifyitems(config, items):
    if os.path.exists(CHROMIUM):
        if any("e2e" in item.keywords for item in items):
            # Playwright's sync API keeps an event loop running in the main thread for the whole
            # session, which makes Django refuse ORM calls there; the calls are synchronous and safe.
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
        return
    ci = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
    browser_tests = [item for item in items if "e2e" in item.keywords]
    if browser_tests and ci:
        raise pytest.UsageError("CI must have Debian's chromium for the browser tests (.ci/run installs it)")
    for item in browser_tests:
        item.add_marker(pytest.mark.skip(reason="no chromium on this machine (CI installs it)"))


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],  # fmt: skip
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    # Community workers' browsers run in Chinese: dates and number formats follow zh-CN.
    return {**browser_context_args, "locale": "zh-CN", "timezone_id": "Asia/Shanghai"}


# -- robustness suite figures (linli/robustness): each process writes its counts, the main one adds them up
def _robust_vendor() -> str:
    return "postgresql" if os.environ.get("LINLI_TEST_DB") == "postgres" else "sqlite"


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session):
    if not hasattr(session.config, "workerinput"):
        from linli import robustness

        robustness.clear_parts(_robust_vendor())


def pytest_sessionfinish(session):
    from linli import robustness

    worker = getattr(session.config, "workerinput", {}).get("workerid", "main")
    robustness.write_part(_robust_vendor(), worker)
    if not hasattr(session.config, "workerinput"):
        path = robustness.merge_parts(_robust_vendor())
        if path is not None:
            print(f"\nrobustness figures: {path}")
