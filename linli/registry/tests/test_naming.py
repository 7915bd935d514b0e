"""Pinyin keys: the per-word memo in naming gives exactly what pypinyin.pinyin gives for the whole name."""

import random

from pypinyin import Style, pinyin

from linli.registry import naming


def pypinyin_readings(name: str) -> list[list[str]]:
    """What naming._readings computed before the memo: one pinyin() call per name."""
    readings = []
    for chunk in pinyin(name, style=Style.NORMAL, heteronym=True, errors="default"):
        options = [r.lower() for r in dict.fromkeys(chunk) if r.strip()]
        readings.append([o for o in options if o.isascii()] or options)
    return readings


def test_readings_equal_pypinyin_for_whole_names():
    rng = random.Random(7)
    names = ["单田芳", "曾国藩", "解缙", "朱红", "王国", "张 三", "A张三", "约翰·史密斯", "John Smith", "张三2", "", " ",
             "王〇", "𠀀张", "欧阳长乐", "重庆", "银行行长", "尉迟恭", "诸葛亮"]  # fmt: skip
    names += [
        "".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(rng.randint(1, 4))) for _ in range(2000)
    ]
    for name in names:
        assert [list(r) for r in naming._readings(name)] == pypinyin_readings(name), name


def test_pinyin_columns_of_a_heteronym_surname():
    full, initials, keys = naming.pinyin_columns("单田芳")
    assert full and initials and " shan" in keys and " dan" in keys
