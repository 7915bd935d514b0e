"""Defence in depth for audit records: whatever a caller passes, no full ID or mobile number
is stored or shown. Values that look like one are masked the way the rest of Linli masks them.
"""

import re

from linli.core.validators import mask_id_number, mask_phone

# Bounded by anything but an ASCII letter or digit, so hex digests and 20-digit grid codes are
# left alone while "电话13812345678" is still caught.
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d{17}[\dXx]|\d{15})(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<![0-9A-Za-z])(?:\+?86)?(1[3-9]\d{9})(?![0-9A-Za-z])")


def mask_text(text: str) -> str:
    text = _ID_NUMBER.sub(lambda m: mask_id_number(m.group(1)), text)
    return _MOBILE.sub(lambda m: mask_phone(m.group(1)), text)


def scrub(value):
    """``value`` (str, list, dict, nested) with every ID-like and mobile-like string masked."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {key: scrub(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(item) for item in value]
    return value
