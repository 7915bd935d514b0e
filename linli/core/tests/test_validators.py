import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from linli.core.validators import (
    compose_id_number,
    id_check_char,
    mask_id_number,
    mask_phone,
    normalize_id_number,
    parse_id_number,
    parse_phone,
)

# A published example number (GB 11643-1999 annex) and its parts.
KNOWN = "11010519491231002X"


def test_known_number_parses():
    info = parse_id_number(KNOWN)
    assert info.birth_date == dt.date(1949, 12, 31)
    assert info.sex == "2"
    assert info.region_code == "110105"


def test_lowercase_x_and_fullwidth_digits_are_normalised():
    fullwidth = "１１０１０５１９４９１２３１００２ｘ"
    assert normalize_id_number(fullwidth) == KNOWN
    assert parse_id_number(" 11010519491231002x ").number == KNOWN


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "id_empty"),
        ("4.20106E+17", "id_scientific"),
        ("420106199001011234567", "id_length"),
        ("110105491231002", "id_legacy_15"),
        ("11010519491231002Y", "id_characters"),
        ("99010519491231002X", "id_region"),
        ("110105194913310021", "id_birth_date"),
        ("110105194912310021", "id_checksum"),
    ],
)
def test_bad_numbers_are_refused_with_a_reason(raw, code):
    with pytest.raises(ValidationError) as exc:
        parse_id_number(raw)
    assert exc.value.code == code
    assert "身份证号" in exc.value.message  # the message speaks Chinese first


def test_future_birth_date_is_refused():
    number = compose_id_number("420105", dt.date(2030, 1, 1), 11)
    with pytest.raises(ValidationError) as exc:
        parse_id_number(number, today=dt.date(2026, 11, 22))
    assert exc.value.code == "id_birth_range"


dates = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2025, 12, 31))
regions = st.sampled_from(["110105", "420105", "420116", "440305", "650102"])


@given(region=regions, birth=dates, seq=st.integers(0, 999))
def test_composed_numbers_round_trip(region, birth, seq):
    number = compose_id_number(region, birth, seq)
    info = parse_id_number(number)
    assert info.birth_date == birth
    assert info.sex == ("1" if seq % 2 else "2")
    assert info.region_code == region


@given(
    region=regions, birth=dates, seq=st.integers(0, 999), position=st.integers(0, 16), delta=st.integers(1, 9)
)
def test_any_single_digit_error_is_caught(region, birth, seq, position, delta):
    """MOD 11-2 detects every single-digit substitution."""
    number = compose_id_number(region, birth, seq)
    wrong_digit = str((int(number[position]) + delta) % 10)
    mutated = number[:position] + wrong_digit + number[position + 1 :]
    with pytest.raises(ValidationError):
        parse_id_number(mutated)


@given(first17=st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_check_char_satisfies_iso_7064(first17):
    """Σ(a_i · 2^(18-i)) ≡ 1 (mod 11) over all 18 positions, with X meaning 10."""
    check = id_check_char(first17)
    digits = [int(c) for c in first17] + [10 if check == "X" else int(check)]
    assert sum(d * pow(2, 17 - i, 11) for i, d in enumerate(digits)) % 11 == 1


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("13812341234", "13812341234"), ("+86 138 1234 1234", "13812341234"), ("027-82345678", "027-82345678"),
     ("02782345678", "02782345678"), ("０２７-８２３４５６７８", "027-82345678")],
)  # fmt: skip
def test_good_phones(raw, expected):
    assert parse_phone(raw) == expected


@pytest.mark.parametrize("raw", ["12812341234", "1381234123", "82345678", "abc", "010-1234"])
def test_bad_phones(raw):
    with pytest.raises(ValidationError) as exc:
        parse_phone(raw)
    assert "电话号码" in exc.value.message


def test_masks():
    assert mask_id_number("420102199001011234") == "42**************34"
    assert mask_phone("13812341234") == "138****1234"
    masked = mask_phone("027-82345678")
    assert masked.startswith("027-") and masked.endswith("5678") and "8234" not in masked


@pytest.mark.parametrize("digit", ["²", "١", "𝟠"])
def test_digits_other_than_ascii_are_refused_not_crashing(digit):
    number = "42010519800517001" + "6"
    with pytest.raises(ValidationError):  # folded to its ASCII digit (then the checksum fails) or refused
        parse_id_number(number[:5] + digit + number[6:])
