"""Structured logs: JSON lines with request context, and no ID or phone number ever written out."""

import io
import json
import logging

import pytest
from django.conf import settings
from django.test import Client

from linli.core.testing import login_as, make_user
from linli.ops import logs

ID_NUMBER = "420105198005170034"
PHONE = "13812345678"


def configured_handler(fmt: str) -> tuple[logging.Handler, io.StringIO]:
    """A handler built the way ``settings.LOGGING`` builds the console handler."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(logs.ContextFilter())
    handler.addFilter(logs.MaskPersonalData())
    handler.setFormatter(
        logs.json_formatter() if fmt == "json" else logging.Formatter("%(levelname)s %(message)s")
    )
    return handler, stream


@pytest.fixture
def logger():
    log = logging.getLogger("linli.tests.logs")
    log.propagate = False
    log.setLevel(logging.INFO)
    yield log
    log.handlers.clear()


def test_settings_route_every_console_record_through_the_filters():
    console = settings.LOGGING["handlers"]["console"]
    assert console["filters"] == ["context", "mask"]
    assert settings.LOGGING["filters"]["mask"]["()"] == "linli.ops.logs.MaskPersonalData"


@pytest.mark.parametrize("fmt", ["json", "plain"])
def test_id_and_phone_numbers_are_masked_everywhere(logger, fmt):
    handler, stream = configured_handler(fmt)
    logger.addHandler(handler)
    logger.info("居民 %s 电话 %s", ID_NUMBER, PHONE, extra={"note": f"回访 {PHONE}"})
    try:
        raise ValueError(f"身份证号 {ID_NUMBER} 重复")
    except ValueError:
        logger.exception("导入失败 +86%s", PHONE)
    logger.info(f"inline {ID_NUMBER.lower()} and {PHONE}")
    out = stream.getvalue()
    assert ID_NUMBER not in out and PHONE not in out
    assert "42**************34" in out and "138****5678" in out
    if fmt == "json":
        first, second, third = (json.loads(line) for line in out.strip().splitlines())
        assert first["message"] == "居民 42**************34 电话 138****5678"
        assert first["note"] == "回访 138****5678"
        assert first["level"] == "INFO" and first["logger"] == "linli.tests.logs"
        assert "request_id" in first and "user_id" in first
        assert "ValueError: 身份证号 42**************34 重复" in second["exc_info"]


def test_grid_codes_and_digests_are_left_alone(logger):
    handler, stream = configured_handler("plain")
    logger.addHandler(handler)
    grid_code = "42010500100100100001"  # 20 digits: not an ID number
    logger.info("grid %s sha %s", grid_code, "a" * 24 + "13812345678" + "b" * 29)
    assert grid_code in stream.getvalue()


@pytest.mark.django_db
def test_one_request_line_with_status_duration_path_user_and_request_id(area_tree, caplog):
    user = make_user("logger", "community_staff", area_tree["communities"][0])
    client = login_as(user)
    with caplog.at_level(logging.INFO, logger="linli.request"):
        response = client.get(f"/registry/persons/?q={PHONE}")
        Client().get("/healthz")
    lines = [r for r in caplog.records if r.name == "linli.request"]
    assert len(lines) == 2
    record = lines[0]
    assert record.status == response.status_code and record.method == "GET"
    assert record.path == "/registry/persons/"  # never the query string
    assert record.user_id == user.pk
    assert record.request_id == response["X-Request-ID"]
    assert record.duration_ms > 0
    assert lines[1].user_id is None and lines[1].path == "/healthz"
