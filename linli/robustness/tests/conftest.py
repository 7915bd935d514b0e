"""Fixtures of the robustness suite: a populated demo district and API tokens for several roles."""

import pytest

from linli import robustness

#: Demo accounts (linli/registry/demo.py) the fuzzer acts as, one per role level.
FUZZ_ROLES = ("gridworker", "staff", "community", "subdistrict", "admin", "auditor")


@pytest.fixture
def media(settings, tmp_path):
    """Uploads and reports go to a temporary MEDIA_ROOT, never to var/."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def demo_district(db, media):
    """The demo district (汉阳区): residents, households, events, grid work and the demo accounts."""
    from io import StringIO

    from django.core.management import call_command

    people = robustness.scale(60, 1500)
    call_command(
        "demo", "--people", str(people), "--event-days", str(robustness.scale(3, 60)), stdout=StringIO()
    )
    from linli.accounts.models import User

    return {u.username: u for u in User.objects.filter(username__in=FUZZ_ROLES)}


@pytest.fixture
def api_tokens(demo_district):
    from linli.accounts.models import ApiToken

    return {name: ApiToken.issue(user, "robustness")[1] for name, user in demo_district.items()}
