"""Pinyin keys for name search (张三 ← "zhangsan", "zs").

Every reading of a heteronym counts, so surnames with special readings (单 shan, 曾 zeng, 解 xie)
are found under the reading people use as well as the dictionary's first one.
"""

import itertools
from functools import lru_cache

from pypinyin import Style
from pypinyin.converter import DefaultConverter
from pypinyin.core import Pinyin

MAX_VARIANTS = 16

# pypinyin.pinyin(text) is: split the text into words (phrases of its dictionary, single
# characters, runs of other characters), then convert each word. The words of names repeat far
# more than the names do, so the conversion — most of the cost — is remembered per word; the
# result is the same list pinyin() returns (tests/test_naming.py compares them).
_converter = DefaultConverter()
_segmenter = Pinyin(_converter)


def _readings(name: str) -> list[tuple[str, ...]]:
    readings = []
    for word in _segmenter.seg(name):
        readings += _word_readings(word)
    return readings


@lru_cache(maxsize=65536)
def _word_readings(word: str) -> tuple[tuple[str, ...], ...]:
    readings = []
    for chunk in _converter.convert(word, Style.NORMAL, True, "default", strict=True):
        options = [r.lower() for r in dict.fromkeys(chunk) if r.strip()]
        readings.append(tuple([o for o in options if o.isascii()] or options))
    return tuple(readings)


def pinyin_variants(name: str) -> list[tuple[str, str]]:
    """``[(full, initials), …]`` for the combinations of readings, most likely first, capped."""
    name = (name or "").strip()
    if not name:
        return []
    readings = _readings(name)
    variants = []
    for combo in itertools.islice(itertools.product(*readings), MAX_VARIANTS):
        full = "".join(combo).replace(" ", "")
        initials = "".join(part[0] for part in combo if part)
        variants.append((full, initials))
    return list(dict.fromkeys(variants))


@lru_cache(maxsize=65536)  # names repeat a great deal; bulk imports hit this for every row
def pinyin_columns(name: str) -> tuple[str, str, str]:
    """The values of Person.pinyin, Person.pinyin_initials and Person.pinyin_keys."""
    variants = pinyin_variants(name)
    if not variants:
        return "", "", ""
    full, initials = variants[0]
    keys = " ".join(dict.fromkeys(k for pair in variants for k in pair))
    return full[:100], initials[:20], f" {keys} "


def name_keys(*names: str) -> str:
    """The value of Person.name_keys: every suffix of each name, space-separated and space-framed.

    ``name_keys("王建国", "王国")`` → ``" 王建国 建国 国 王国 国 "``. A text occurs in a name exactly when
    ``" " + text`` occurs here (for a text without spaces), and that is a word-prefix pattern that
    a trigram index answers from two characters on, where ``LIKE '%建国%'`` on the name itself
    would have no trigram to look up.
    """
    keys = []
    for name in names:
        name = (name or "").strip()
        keys += [name[i:] for i in range(len(name))]
    return f" {' '.join(keys)} " if keys else ""
