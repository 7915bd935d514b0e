from django import template

from linli.audit.masking import mask_text

register = template.Library()


@register.filter
def masked(value) -> str:
    """Text with anything that looks like a full ID or mobile number masked."""
    return mask_text("" if value is None else str(value))
