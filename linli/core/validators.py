"""Validation of Chinese identity documents and phone numbers.

Messages are bilingual (中文 first) because they reach community workers directly, in forms and
in import error reports, often without the UI's language setting in play; a user who chose English
reads the English half only (the catalogue's msgstr).
"""

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext

# GB 11643-1999: weights 2^(17-i) mod 11 for the first 17 digits; ISO 7064 MOD 11-2.
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"
# First two digits: GB/T 2260 provinces, plus 71 台湾, 81 香港, 82 澳门, 83 (台湾居民居住证).
PROVINCE_CODES = frozenset(
    [
        "11",
        "12",
        "13",
        "14",
        "15",
        "21",
        "22",
        "23",
        "31",
        "32",
        "33",
        "34",
        "35",
        "36",
        "37",
        "41",
        "42",
        "43",
        "44",
        "45",
        "46",
        "50",
        "51",
        "52",
        "53",
        "54",
        "61",
        "62",
        "63",
        "64",
        "65",
        "71",
        "81",
        "82",
        "83",
    ]
)
EARLIEST_BIRTH_YEAR = 1880
_SCIENTIFIC = re.compile(r"^\d(\.\d+)?[eE]\+?\d+$")


@dataclass(frozen=True)
class IdNumberInfo:
    """What an 18-character citizen ID number says about its holder."""

    number: str
    region_code: str
    birth_date: dt.date
    sex: str  # GB/T 2261.1: "1" male, "2" female

    @property
    def province_code(self) -> str:
        return self.region_code[:2]


def _error(message: str, code: str, **params) -> ValidationError:
    """``message`` is the translated text (its msgid is "中文 (English)": bilingual by default)."""
    return ValidationError(message, code=code, params=params or None)


def normalize_id_number(raw: object) -> str:
    """Full-width digits to ASCII, spaces removed, a lower-case ``x`` upper-cased."""
    text = str(raw or "")
    if text.isascii() and text.isalnum():  # the usual case: nothing to fold or remove
        return text.upper()
    text = unicodedata.normalize("NFKC", text).strip()
    text = re.sub(r"[\s\u00a0\u3000-]", "", text)
    return text.upper()


# Each position's weighted value of each digit, looked up rather than multiplied (runs per row on import).
_WEIGHTED = [{str(d): d * w for d in range(10)} for w in ID_WEIGHTS]


def id_check_char(first17: str) -> str:
    try:
        return ID_CHECK_CHARS[sum([table[c] for table, c in zip(_WEIGHTED, first17, strict=True)]) % 11]
    except KeyError:  # zip(strict=True) raises ValueError for another length
        raise ValueError("id_check_char takes 17 ASCII digits") from None


def parse_id_number(raw: object, *, today: dt.date | None = None) -> IdNumberInfo:
    """Validate a GB 11643-1999 citizen ID number and return what it encodes.

    Raises :class:`ValidationError` with a bilingual message naming what is wrong.
    """
    number = normalize_id_number(raw)
    if not number:
        raise _error(gettext("身份证号不能为空 (ID number is empty)"), "id_empty")
    if _SCIENTIFIC.match(number):
        raise _error(
            gettext(
                "身份证号被 Excel 转成了科学计数法，后几位已经丢失；请把该列设为“文本”格式后重新录入 (the ID number was turned into scientific notation by Excel and its last digits are lost; format the column as text and enter it again)"
            ),
            "id_scientific",
        )
    if len(number) == 15 and number.isdigit():
        raise _error(
            gettext(
                "这是 15 位旧身份证号，请录入 18 位新号码 (this is an old 15-digit ID number; enter the 18-character number)"
            ),
            "id_legacy_15",
        )
    if len(number) != 18:
        raise _error(
            gettext(
                "身份证号应为 18 位，实际为 %(len)s 位 (an ID number has 18 characters, this one has %(len)s)"
            )
            % {"len": len(number)},
            "id_length",
        )
    # ASCII digits only: str.isdigit() also accepts "²" and other digits int() cannot read.
    if not (number.isascii() and number[:17].isdigit() and (number[17].isdigit() or number[17] == "X")):
        raise _error(
            gettext(
                "身份证号前 17 位须为数字，最后一位为数字或 X (the first 17 characters must be digits and the last a digit or X)"
            ),
            "id_characters",
        )
    if number[:2] not in PROVINCE_CODES:
        raise _error(
            gettext(
                "身份证号开头的地区码 %(number)s 不存在 (region code %(number)s at the start of the ID number does not exist)"
            )
            % {"number": number[:2]},
            "id_region",
        )
    try:
        birth = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise _error(
            gettext(
                "身份证号中的出生日期 %(number)s 不是有效日期 (the birth date %(number)s in the ID number is not a valid date)"
            )
            % {"number": number[6:14]},
            "id_birth_date",
        ) from None
    today = today or dt.date.today()
    if birth > today or birth.year < EARLIEST_BIRTH_YEAR:
        raise _error(
            gettext(
                "身份证号中的出生日期 %(birth)s 不可能 (the birth date %(birth)s in the ID number is impossible)"
            )
            % {"birth": format(birth, "%Y-%m-%d")},
            "id_birth_range",
        )
    expected = id_check_char(number[:17])
    if number[17] != expected:
        raise _error(
            gettext(
                "身份证号校验位错误，请核对每一位数字 (the ID number's check digit is wrong; check every digit)"
            ),
            "id_checksum",
        )
    sex = "1" if int(number[16]) % 2 else "2"
    return IdNumberInfo(number=number, region_code=number[:6], birth_date=birth, sex=sex)


def validate_id_number(value: object) -> None:
    """Django field validator."""
    parse_id_number(value)


# -- phone numbers ----------------------------------------------------------------------------
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}-?[2-9]\d{6,7}(-\d{1,6})?$")


def normalize_phone(raw: object) -> str:
    text = unicodedata.normalize("NFKC", str(raw or "")).strip()
    text = re.sub(r"[\s\u00a0()（）]", "", text)
    if text.startswith("+86"):
        text = text[3:]
    elif text.startswith("0086"):
        text = text[4:]
    return text.lstrip("-")


def parse_phone(raw: object) -> str:
    """Validate a mainland mobile (11 digits starting 1[3-9]) or landline (area code + number)."""
    phone = normalize_phone(raw)
    if not phone:
        raise _error(gettext("电话号码不能为空 (phone number is empty)"), "phone_empty")
    if _MOBILE.match(phone):
        return phone
    if _LANDLINE.match(phone):
        return phone
    raise _error(
        gettext(
            "电话号码格式不正确：手机号为 1 开头的 11 位数字，座机号为区号加号码，如 027-82345678 (not a valid phone number: a mobile has 11 digits starting with 1, a landline an area code and number such as 027-82345678)"
        ),
        "phone_format",
    )


def validate_phone(value: object) -> None:
    parse_phone(value)


def is_mobile(phone: str) -> bool:
    return bool(_MOBILE.match(phone))


# -- masking ----------------------------------------------------------------------------------
def mask_id_number(number: str) -> str:
    """``420102199001011234`` → ``42**************34`` (SPEC §14)."""
    if not number:
        return ""
    if len(number) <= 4:
        return "*" * len(number)
    return number[:2] + "*" * (len(number) - 4) + number[-2:]


def mask_phone(phone: str) -> str:
    """``13812341234`` → ``138****1234``; landlines keep the area code and the last four."""
    if not phone:
        return ""
    digits = phone.replace("-", "")
    if len(digits) == 11 and digits.startswith("1"):
        return digits[:3] + "****" + digits[-4:]
    if len(digits) <= 4:
        return "*" * len(digits)
    head = phone.split("-")[0] if "-" in phone else digits[:3]
    return head + "-" + "*" * max(len(digits) - len(head) - 4, 2) + digits[-4:]


def compose_id_number(region_code: str, birth_date: dt.date, sequence: int) -> str:
    """Build a valid ID number from its parts; ``sequence`` (0–999) is odd for men, even for women.

    Used by the demo generator and tests; never to "repair" a number someone typed.
    """
    if not (len(region_code) == 6 and region_code.isdigit()):
        raise ValueError("region code must be 6 digits")
    if not 0 <= sequence <= 999:
        raise ValueError("sequence must be 0..999")
    first17 = f"{region_code}{birth_date:%Y%m%d}{sequence:03d}"
    return first17 + id_check_char(first17)
