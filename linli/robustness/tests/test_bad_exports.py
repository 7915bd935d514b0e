"""What the forms keep as text (markup, SQL, control characters, characters outside GBK, formulas)
must not break the exports, and bad export parameters get a 400, not a 500."""

import io

import pytest

from linli import robustness
from linli.core.testing import login_as, make_person, make_user

from .corpus import HARMLESS

pytestmark = pytest.mark.django_db

NAMES = [value for _, value in HARMLESS] + ['=HYPERLINK("http://x","点我")', "张😀三", "𠀀𪚥"]


@pytest.fixture
def staff(area_tree, media):
    for i, name in enumerate(NAMES):
        make_person(
            area_tree["grids"][0], name=name[:50], note=name, current_address=name, phone=f"1390000{i:04d}"
        )
    return login_as(make_user("staff", "community_staff", area_tree["communities"][0]))


@pytest.mark.parametrize(
    "query",
    ["format=xlsx", "format=csv", "format=csv&encoding=gbk", "format=csv&encoding=rot13", "format=csv&encoding=%00",
     "format=pdf", "format=xlsx&age_min=-1e308", "format=xlsx&area=abc", "format=xlsx&q=%27%3B--"],
)  # fmt: skip
def test_person_export_survives_what_forms_keep(staff, query):
    response = staff.get(f"/io/export/persons/?{query}")
    robustness.tally("exports", "persons export parameters")
    assert response.status_code in (200, 400), (query, response.status_code)
    if response.status_code != 200:
        return
    body = b"".join(response.streaming_content) if response.streaming else response.content
    if "xlsx" in query:
        import openpyxl

        sheet = openpyxl.load_workbook(io.BytesIO(body), read_only=True).active
        cells = [str(c) for row in sheet.iter_rows(values_only=True) for c in row if c is not None]
        assert not any(c.startswith("=") for c in cells), "a formula reached the workbook"
