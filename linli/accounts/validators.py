from django.core.exceptions import ValidationError
from django.utils.translation import gettext

CLASSES = (
    ("小写字母", str.islower),
    ("大写字母", str.isupper),
    ("数字", str.isdigit),
    ("符号", lambda ch: not ch.isalnum()),
)


class CharacterClassesValidator:
    """At least ``min_classes`` of: lower case, upper case, digits, symbols."""

    def __init__(self, min_classes: int = 3):
        self.min_classes = min_classes

    def validate(self, password, user=None):
        found = sum(1 for _, test in CLASSES if any(test(ch) for ch in password))
        if found < self.min_classes:
            raise ValidationError(
                gettext(
                    "密码须包含小写字母、大写字母、数字、符号中的至少 %(min_classes)s 类 (use at least %(min_classes)s of: lower case, upper case, digits, symbols)"
                )
                % {"min_classes": self.min_classes},
                code="password_classes",
            )

    def get_help_text(self):
        return gettext("密码须包含小写字母、大写字母、数字、符号中的至少 %(min_classes)s 类。") % {
            "min_classes": self.min_classes
        }
