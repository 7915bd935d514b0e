"""Open311 ``POST requests.json`` bodies the long fuzzing run found crashing (500): now 400s."""

import json

import pytest
from django.test import Client

from linli import robustness
from linli.accounts.models import ApiToken
from linli.core.testing import make_user

pytestmark = pytest.mark.django_db

BODIES = [
    "null", "[]", "5", '"text"', '{"service_code": 5, "lat": 30.5, "long": 114.2}',
    '{"service_code": "1002", "lat": "NaN", "long": "114.2"}',
    '{"service_code": "1002", "lat": "30.5", "long": "Infinity"}',
    '{"service_code": "1002", "address_string": "1栋", "description": "噪音\\u0000"}',
    '{"service_code": ["1002"], "address_string": {"a": 1}}',
]  # fmt: skip


@pytest.mark.parametrize("body", BODIES)
def test_malformed_open311_bodies_are_400(area_tree, body):
    from linli.events.loader import load_categories

    load_categories()
    token = ApiToken.issue(make_user("gw", "grid_worker", area_tree["grids"][0]), "t")[1]
    response = Client().post("/api/open311/v2/requests.json", body, content_type="application/json",
                             HTTP_AUTHORIZATION=f"Bearer {token}")  # fmt: skip
    robustness.tally("api", "POST /api/open311/v2/requests.json (regressions)")
    assert response.status_code == 400, (body, response.status_code, response.content[:300])
    assert all(item["code"] == 400 and item["description"] for item in json.loads(response.content))
