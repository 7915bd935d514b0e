"""Open311 GeoReport v2 mapping."""

import pytest
from django.core.exceptions import ValidationError

from linli.events import open311, workflow

from .conftest import at


def test_status_mapping():
    assert [open311.status_of(s) for s in ("reported", "handling", "fed_back", "verified")] == ["open"] * 4
    assert [open311.status_of(s) for s in ("rejected", "closed", "rated", "archived")] == ["closed"] * 4


@pytest.mark.django_db
def test_service_list_offers_public_leaf_categories(categories):
    services = open311.service_list(categories.values())
    codes = {s["service_code"] for s in services}
    assert "1402" in codes and "14" not in codes  # a parent is a group, not a service
    assert "1101" not in codes  # not public
    item = next(s for s in services if s["service_code"] == "1402")
    assert item == {"service_code": "1402", "service_name": "楼道杂物", "description": "", "metadata": False,
                    "type": "realtime", "keywords": "", "group": "环境卫生"}  # fmt: skip


@pytest.mark.django_db
def test_parse_request(categories):
    parsed = open311.parse_request(
        {"service_code": "0102", "lat": "30.5528", "long": "114.2655", "description": "路口有垃圾堆\n已三天",
         "first_name": "三", "last_name": "张", "phone": "13812345678", "jurisdiction_id": "420105"},
        categories,
    )  # fmt: skip
    assert parsed.category.code == "0102" and parsed.title == "路口有垃圾堆"
    assert str(parsed.lat) == "30.552800" and parsed.contact_name == "张三"
    kwargs = parsed.report_kwargs()
    assert kwargs["channel"] == "api" and kwargs["contact_phone"] == "13812345678"


@pytest.mark.django_db
def test_parse_request_errors(categories):
    with pytest.raises(ValidationError) as info:
        open311.parse_request({"service_code": "9999", "lat": "200"}, categories)
    errors = open311.errors_to_open311(info.value)
    assert all(e["code"] == 400 for e in errors)
    assert {e["description"].split(":")[0] for e in errors} == {"service_code", "lat"}
    with pytest.raises(ValidationError) as info:
        open311.parse_request({"service_code": "0102"}, categories)
    assert "location" in info.value.message_dict
    with pytest.raises(ValidationError):
        open311.parse_request({"service_code": "1101", "address_string": "x"}, categories)  # not public


@pytest.mark.django_db
def test_event_to_request(report, users):
    event = report("1402", when=at(2026, 11, 16, 9), lat="30.5528", lng="114.2655", address="测试路11号1栋",
                   contact_phone="13812345678")  # fmt: skip
    item = open311.event_to_request(event)
    assert item["service_request_id"] == event.number and item["status"] == "open"
    assert item["requested_datetime"] == "2026-11-16T09:00:00+08:00"
    assert item["expected_datetime"] == "2026-11-18T17:30:00+08:00"
    assert item["lat"] == 30.5528 and item["agency_responsible"] == "1号网格"
    assert "13812345678" not in str(item)
    workflow.reject(event, users["grid"], note="重复反映，已合并")
    item = open311.event_to_request(event)
    assert (
        item["status"] == "closed"
        and item["status_notes"] == "重复反映，已合并"
        and item["expected_datetime"] is None
    )
    assert open311.created_response(event) == [
        {"service_request_id": event.number, "service_notice": "", "account_id": None}
    ]


def test_point_in_boundary():
    square = {"type": "Polygon", "coordinates": [[[114, 30], [115, 30], [115, 31], [114, 31], [114, 30]],
                                                 [[114.4, 30.4], [114.6, 30.4], [114.6, 30.6], [114.4, 30.6], [114.4, 30.4]]]}  # fmt: skip
    assert open311.point_in_boundary(30.2, 114.2, square)
    assert not open311.point_in_boundary(30.5, 114.5, square)  # in the hole
    assert not open311.point_in_boundary(31.5, 114.5, square)
    multi = {"type": "MultiPolygon", "coordinates": [square["coordinates"]]}
    assert open311.point_in_boundary(30.2, 114.2, multi)

    class Grid:
        def __init__(self, name, boundary):
            self.name, self.boundary = name, boundary

    grids = [Grid("none", None), Grid("sq", square)]
    assert open311.locate(30.2, 114.2, grids).name == "sq" and open311.locate(0, 0, grids) is None
