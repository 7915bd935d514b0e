import pytest


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """Uploads and reports go to a temporary MEDIA_ROOT, never to var/."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def community(area_tree):
    return area_tree["communities"][0]


@pytest.fixture
def staff(community):
    from linli.core.testing import make_user

    return make_user("staff", "community_staff", community, full_name="王社工")


@pytest.fixture
def snapshot():
    """Row counts of everything an import could write, to prove that nothing was."""
    from linli.core.models import ObjectChange
    from linli.registry.models import Household, Membership, Person

    def take():
        return {m.__name__: m.objects.count() for m in (Person, Household, Membership, ObjectChange)}

    return take
