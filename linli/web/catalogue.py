"""The English catalogue (``linli/locale/en``): where it lives, compiling it, checking it.

Chinese is the source language: msgids are the Chinese texts of the templates and the code, and
only English has a catalogue. The ``.mo`` is committed beside the ``.po`` so that a deployment
needs no GNU gettext; polib compiles it.
"""

from pathlib import Path

import polib
from django.conf import settings

PO = Path(settings.BASE_DIR) / "linli" / "locale" / "en" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")
# Paths makemessages must not read: environments, front-end packages, data, tests (test strings
# are not user-facing).
IGNORE = [".venv", "venv", "node_modules", "var", "docs", "*/tests/*", "build", "dist"]
FIX_HINT = (
    "The English catalogue is out of date: run `./dev messages`, translate every new or fuzzy entry "
    "in linli/locale/en/LC_MESSAGES/django.po (remove the fuzzy flag), run `./dev messages` again to "
    "compile the .mo, and commit both files."
)


def load() -> polib.POFile:
    return polib.pofile(str(PO))


def untranslated(po: polib.POFile | None = None) -> list[polib.POEntry]:
    po = po or load()

    def translated(e: polib.POEntry) -> bool:
        if e.msgid_plural:
            return bool(e.msgstr_plural) and all(e.msgstr_plural.values())
        return bool(e.msgstr)

    return [e for e in po if not e.obsolete and ("fuzzy" in e.flags or not translated(e))]


def compiled_bytes(po: polib.POFile | None = None) -> bytes:
    """The .mo that the .po compiles to (polib writes it to a file; read it back)."""
    import tempfile

    po = po or load()
    with tempfile.NamedTemporaryFile(suffix=".mo") as handle:
        po.save_as_mofile(handle.name)
        return Path(handle.name).read_bytes()


def compile_mo() -> None:
    MO.write_bytes(compiled_bytes())


def problems() -> list[str]:
    """Everything wrong with the catalogue, as messages (empty when complete and compiled)."""
    if not PO.exists():
        return [f"{PO} is missing"]
    po = load()
    found = [f"untranslated or fuzzy: msgid {e.msgid!r}" for e in untranslated(po)]
    if not MO.exists() or MO.read_bytes() != compiled_bytes(po):
        found.append(f"{MO} does not match {PO.name}")
    return found
