"""English as a language the user picks (issue 4): Chinese for everyone by default, every page
translatable, the catalogue complete and compiled, and no Chinese text left outside translate tags."""

import os
import re
import shutil
from pathlib import Path

import polib
import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.db import models
from django.test import Client, override_settings
from django.urls import reverse

from linli.core.fields import EncryptedTextField
from linli.core.testing import make_couple_household, make_user
from linli.web import catalogue

HAN = re.compile(r"[\u3400-\u9fff]+")
ROOT = Path(settings.BASE_DIR)


def english(client: Client) -> Client:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


# -- the catalogue ------------------------------------------------------------------------------
def test_catalogue_is_complete_and_compiled():
    problems = catalogue.problems()
    assert problems == [], catalogue.FIX_HINT + "\n" + "\n".join(problems[:30])


def test_catalogue_has_every_msgid_of_the_source(tmp_path, monkeypatch):
    """makemessages over a copy of the code finds nothing that the committed catalogue lacks."""
    if not shutil.which("xgettext") and os.environ.get("CI") != "true":
        pytest.skip("GNU gettext (xgettext) is not installed; CI installs it")
    # makemessages writes into any locale/ directory it walks past, so it runs on a copy without one.
    shutil.copytree(ROOT / "linli", tmp_path / "src" / "linli",
                    ignore=shutil.ignore_patterns("locale", "tests", "migrations", "__pycache__", "static"))  # fmt: skip
    monkeypatch.chdir(tmp_path / "src")
    with override_settings(LOCALE_PATHS=[tmp_path / "out"]):
        call_command("makemessages", locale=["en"], ignore_patterns=catalogue.IGNORE, verbosity=0)
    fresh = {
        e.msgid for e in polib.pofile(str(tmp_path / "out" / "en" / "LC_MESSAGES" / "django.po")) if e.msgid
    }
    committed = {e.msgid for e in catalogue.load() if not e.obsolete}
    missing = sorted(fresh - committed)
    assert len(fresh) > 500 and missing == [], catalogue.FIX_HINT + "\nNew msgids: " + ", ".join(missing[:30])


def test_compiled_catalogue_is_what_polib_makes_of_the_po():
    assert catalogue.MO.read_bytes() == catalogue.compiled_bytes(), catalogue.FIX_HINT


# -- templates carry no unmarked Chinese ---------------------------------------------------------
TOKEN = re.compile(r"({%.*?%}|{{.*?}}|{#.*?#}|<[^>]*>)", re.S)
TRANSLATED_ARG = re.compile(r"""_\((["']).*?\1\)""")
# {% translate %} / {% blocktranslate %} inside an HTML tag's attributes (placeholder, aria-label …).
IN_TAG_TRANSLATION = re.compile(
    r"{%\s*(?:translate|trans)\s.*?%}|{%\s*blocktranslate.*?%}.*?{%\s*endblocktranslate\s*%}", re.S
)
# Templates whose Chinese is data or code, never UI chrome: none so far. Add "path": "why".
EXEMPT: dict[str, str] = {}


def unmarked_chinese(source: str) -> list[str]:
    """Chinese text of a template outside {% translate %} / {% blocktranslate %} and comments."""
    found, in_block, in_comment = [], 0, False
    for token in TOKEN.split(source):
        if token.startswith("{%"):
            inner = token[2:-2].strip()
            name = inner.split(" ", 1)[0]
            if name in ("blocktranslate", "blocktrans"):
                in_block += 1
            elif name in ("endblocktranslate", "endblocktrans"):
                in_block -= 1
            elif name == "comment":
                in_comment = True
            elif name == "endcomment":
                in_comment = False
            elif name not in ("translate", "trans") and HAN.search(TRANSLATED_ARG.sub("", inner)):
                found.append(token)
        elif token.startswith("{#") or in_block or in_comment:
            continue
        elif HAN.search(TRANSLATED_ARG.sub("", IN_TAG_TRANSLATION.sub("", token))):
            found.append(token.strip())
    return found


def test_templates_have_no_chinese_outside_translate_tags():
    problems = {}
    for path in sorted(ROOT.glob("linli/**/templates/**/*.html")):
        relative = str(path.relative_to(ROOT))
        if relative in EXEMPT:
            continue
        found = unmarked_chinese(path.read_text("utf-8"))
        if found:
            problems[relative] = found[:5]
    assert problems == {}, (
        'Mark user-facing text with {% translate "中文" %} or {% blocktranslate %} (Chinese msgid), then run '
        f"`./dev messages` and translate the new entries: {problems}"
    )


def test_the_scanner_finds_unmarked_text():
    assert unmarked_chinese('<p>{% translate "保存" %}</p><p>保存</p>') == ["保存"]
    assert unmarked_chinese('<input placeholder="姓名">') == ['<input placeholder="姓名">']
    assert unmarked_chinese("{% blocktranslate %}共 {{ n }} 条{% endblocktranslate %}{# 注释 #}") == []
    assert unmarked_chinese('{{ x|default:_("从未") }}{{ y|default:"无" }}') == ['{{ y|default:"无" }}']


# -- language selection -------------------------------------------------------------------------
@pytest.mark.django_db
def test_default_is_chinese_even_when_the_browser_asks_for_english(client):
    response = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    html = response.content.decode()
    assert '<html lang="zh-hans">' in html and "用户名或密码错误" not in html and "用户名" in html
    assert response["Content-Language"] == "zh-hans"
    assert "Accept-Language" not in response.get("Vary", "")


@pytest.mark.django_db
def test_the_switcher_keeps_english_in_a_cookie(client):
    login = client.get(reverse("login")).content.decode()
    assert 'data-testid="language-switcher"' in login and 'value="en"' in login
    response = client.post(reverse("set_language"), {"language": "en", "next": reverse("login")})
    assert response.status_code == 302 and response["Location"] == reverse("login")
    cookie = response.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert cookie.value == "en" and int(cookie["max-age"]) >= 30 * 24 * 3600
    html = client.get(reverse("login")).content.decode()
    assert '<html lang="en">' in html and "User name" in html and "用户名" not in html
    # Back to Chinese: the switcher now offers 简体中文.
    assert 'value="zh-hans"' in html
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    assert "用户名" in client.get(reverse("login")).content.decode()


@pytest.mark.django_db
def test_an_unknown_cookie_value_falls_back_to_chinese(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    assert "用户名" in client.get(reverse("login")).content.decode()


# -- English pages ------------------------------------------------------------------------------
def data_strings() -> list[str]:
    """Every Chinese value stored in the database: names, areas, code tables, titles … (data, not UI)."""
    values = []
    for model in apps.get_models():
        if not model.__module__.startswith(("linli.", "django.contrib.auth")):
            continue
        fields = [
            f.attname
            for f in model._meta.concrete_fields
            if isinstance(f, (models.CharField, models.TextField, models.JSONField))
            and not isinstance(f, EncryptedTextField)
        ]
        # Defaults (such as a duty shift's place) become stored values: data too.
        values += [
            f.default
            for f in model._meta.concrete_fields
            if isinstance(f.default, str) and HAN.search(f.default)
        ]
        if not fields:
            continue
        for row in model._base_manager.values_list(*fields):
            values += [str(v) for v in row if v and HAN.search(str(v))]
    from linli.areas.models import Area

    return values + [area.full_name for area in Area.objects.all()]  # names joined: 汉阳区第1街道…


def untranslated(html: str, data: list[str]) -> set[str]:
    """Chinese runs in a page that are not part of any stored value (so they are UI chrome)."""
    html = re.sub(r"<script.*?</script>|<style.*?</style>|<!--.*?-->", "", html, flags=re.S)
    html = re.sub(r'<button[^>]*lang="zh-hans"[^>]*>.*?</button>', "", html, flags=re.S)  # the switcher
    return {run for run in HAN.findall(html) if not any(run in value for value in data)}


@pytest.fixture
def registry(area_tree):
    grid, house = area_tree["grids"][0], area_tree["houses"][0]
    household = make_couple_household(grid, house)
    from linli.events import workflow
    from linli.events.models import EventCategory

    event = workflow.report_event(
        category=EventCategory.objects.get(code="1002"),
        title="楼道堆物",
        location_area=grid,
        channel="hotline",
    )
    user = make_user("leader", "community_leader", area_tree["communities"][0], full_name="社区书记")
    return {
        "head": household.head,
        "household": household,
        "house": house,
        "event": event,
        "user": user,
        "grid": grid,
        "community": area_tree["communities"][0],
    }


@pytest.mark.django_db
def test_main_pages_render_in_english_without_chinese_chrome(client, registry):
    english(client).force_login(registry["user"])
    head, household, house = registry["head"], registry["household"], registry["house"]
    pages = [
        reverse("home"),
        reverse("registry:persons"),
        reverse("registry:persons") + "?q=zs",
        reverse("registry:person", args=[head.pk]),
        reverse("registry:person_edit", args=[head.pk]),
        reverse("registry:person_add"),
        reverse("registry:households"),
        reverse("registry:household", args=[household.pk]),
        reverse("registry:houses"),
        reverse("registry:house", args=[house.pk]),
        reverse("registry:buildings"),
        reverse("events:list"),
        reverse("events:detail", args=[registry["event"].pk]),
        reverse("events:add"),
        reverse("grid:desk"),
        reverse("grid:visits"),
        reverse("grid:coverage"),
        reverse("areas:tree"),
        reverse("areas:tree_node", args=[registry["community"].pk]),
        reverse("registry:duplicates"),
        reverse("registry:household_split", args=[household.pk]),
        reverse("registry:person_move_out", args=[head.pk]),
        reverse("events:metrics"),
        reverse("events:notifications"),
        reverse("grid:assignments"),
        reverse("grid:diary_list"),
        reverse("grid:diary_add"),
        reverse("grid:patrols"),
        reverse("grid:duty"),
        reverse("grid:visit_add", args=[household.pk]),
        reverse("dataio:import"),
        reverse("dataio:jobs"),
        reverse("dataio:survey"),
        reverse("password_change"),
    ]
    data = data_strings()
    leftovers = {}
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        found = untranslated(html, data)
        if found:
            leftovers[url] = sorted(found)
    assert leftovers == {}, leftovers
    assert "Residents" in client.get(reverse("home")).content.decode()


@pytest.mark.django_db
def test_portal_and_administration_pages_in_english(client, registry, area_tree):
    from linli.core.testing import login_as

    data = data_strings()
    english(client)
    for url in (reverse("events:portal_submit"), reverse("events:portal_track")):
        assert untranslated(client.get(url).content.decode(), data) == set(), url
    for role, urls in {
        "admin": [reverse("manage:users")],
        "auditor": ["/audit/", "/audit/changes/"],
    }.items():
        staff = english(login_as(make_user(f"en-{role}", role, area_tree["district"])))
        for url in urls:
            response = staff.get(url)
            assert response.status_code == 200, url
            assert untranslated(response.content.decode(), data_strings()) == set(), url


@pytest.mark.django_db
def test_login_page_in_english(client):
    html = english(client).get(reverse("login")).content.decode()
    assert "Log in" in html and untranslated(html, []) == set()


@pytest.mark.django_db
def test_a_form_error_appears_in_english(client, registry):
    english(client).force_login(registry["user"])
    person = registry["head"]
    data = {
        "area": registry["grid"].pk, "name": "张三", "id_type": "111", "sex": "1", "ethnicity": "01",
        "residence_status": "10", "population_type": "1", "phone": "12345",
        "birth_date": person.birth_date.isoformat(),
    }  # fmt: skip
    response = client.post(reverse("registry:person_edit", args=[person.pk]), data)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Not a valid phone number" in html and "电话号码格式不正确" not in html
    # The same error in Chinese (the default) keeps both languages, as before.
    client.cookies.pop(settings.LANGUAGE_COOKIE_NAME)
    html = client.post(reverse("registry:person_edit", args=[person.pk]), data).content.decode()
    assert "电话号码格式不正确" in html


@pytest.mark.django_db
def test_an_english_request_leaves_the_thread_in_chinese(client):
    from django.utils import translation

    english(client).get(reverse("login"))
    assert translation.get_language() == settings.LANGUAGE_CODE  # later work in this thread: Chinese
