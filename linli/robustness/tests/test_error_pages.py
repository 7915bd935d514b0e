"""The error handler in-process, on either database: a database error is a clean 503, anything else a 500."""

from unittest import mock

import pytest
from django.db import OperationalError
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/healthz", "/api/v1/persons/"])
def test_database_errors_answer_503_without_a_traceback(path, area_tree):
    from linli.core.testing import make_user

    client = Client(raise_request_exception=False)
    client.force_login(make_user("staff", "community_staff", area_tree["communities"][0]))
    with mock.patch("django.db.backends.utils.CursorWrapper.execute", side_effect=OperationalError("down")):
        response = client.get(path)
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert "数据库暂时不可用" in response.content.decode() and "Traceback" not in response.content.decode()
    if path.startswith("/api/"):
        assert response["Content-Type"].startswith("application/json")


def test_other_errors_stay_500():
    client = Client(raise_request_exception=False)
    with mock.patch("linli.web.views.connection.cursor", side_effect=RuntimeError("bug")):
        response = client.get("/healthz")
    assert response.status_code == 500 and "服务器内部错误" in response.content.decode()
