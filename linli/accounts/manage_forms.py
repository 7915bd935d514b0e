"""Forms of the user administration pages (``manage_views``)."""

from django import forms
from django.contrib.auth import password_validation
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from linli.areas.models import Area
from linli.core import permissions
from linli.core.scope import paths_q
from linli.core.validators import parse_phone

from .models import Role, User


class UserFilterForm(forms.Form):
    q = forms.CharField(
        label=_("搜索"),
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("用户名/姓名/手机号")}),
    )
    role = forms.ModelChoiceField(label=_("角色"), queryset=Role.objects.filter(active=True), required=False)
    area = forms.ModelChoiceField(label=_("区域"), queryset=Area.objects.none(), required=False)
    active = forms.ChoiceField(
        label=_("状态"), required=False, choices=[("", _("全部")), ("1", _("启用")), ("0", _("停用"))]
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = areas_within(user, "accounts.view_user").order_by("path")
        for field in self.fields.values():
            field.widget.attrs.setdefault(
                "class", "form-select" if isinstance(field, forms.ChoiceField) else "form-control"
            )


class _Styled:
    def _style(self):
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select")
            else:
                widget.attrs.setdefault("class", "form-control")


class PasswordFields(forms.Form):
    password1 = forms.CharField(
        label=_("初始密码"), strip=False, widget=forms.PasswordInput(render_value=False)
    )
    password2 = forms.CharField(
        label=_("确认密码"), strip=False, widget=forms.PasswordInput(render_value=False)
    )

    def clean(self):
        cleaned = super().clean()
        p1, p2 = cleaned.get("password1"), cleaned.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", gettext("两次输入的密码不一致 (passwords differ)"))
        elif p1:
            try:
                password_validation.validate_password(p1, self.password_user())
            except forms.ValidationError as exc:
                self.add_error("password1", exc)
        return cleaned

    def password_user(self):
        return getattr(self, "instance", None)


class _CheckedPhone:
    """The phone is checked like residents' phones (any text was accepted; robustness suite)."""

    def clean_phone(self):
        phone = self.cleaned_data.get("phone", "")
        return parse_phone(phone) if phone else ""


class UserCreateForm(_CheckedPhone, _Styled, forms.ModelForm, PasswordFields):
    class Meta:
        model = User
        fields = ["username", "full_name", "phone"]
        labels = {"username": _("用户名")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["full_name"].required = True
        self._style()

    def password_user(self):
        # Similarity checks need the names the user typed, before the user exists.
        return User(
            username=self.cleaned_data.get("username", ""),
            full_name=self.cleaned_data.get("full_name", ""),
            phone=self.cleaned_data.get("phone", ""),
        )

    def clean(self):
        cleaned = forms.ModelForm.clean(self)
        PasswordFields.clean(self)
        return cleaned


class UserEditForm(_CheckedPhone, _Styled, forms.ModelForm):
    class Meta:
        model = User
        fields = ["full_name", "phone", "email"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["full_name"].required = True  # as when creating (a blank name was accepted)
        self._style()


class PasswordResetForm(_Styled, PasswordFields):
    password1 = forms.CharField(
        label=_("新密码"), strip=False, widget=forms.PasswordInput(render_value=False)
    )

    def __init__(self, *args, instance, **kwargs):
        self.instance = instance
        super().__init__(*args, **kwargs)
        self._style()


class GrantForm(_Styled, forms.Form):
    role = forms.ModelChoiceField(label=_("角色"), queryset=Role.objects.filter(active=True))
    area = forms.ModelChoiceField(label=_("管辖区域"), queryset=Area.objects.none())

    def __init__(self, *args, admin, **kwargs):
        super().__init__(*args, **kwargs)
        # Only areas inside the administrator's own subtree for role assignments.
        self.fields["area"].queryset = areas_within(admin, "accounts.change_roleassignment").order_by("path")
        self._style()


def areas_within(admin, perm: str):
    """Area nodes inside the subtrees where ``admin`` holds ``perm``."""
    paths = permissions.scope_paths(admin, perm)
    if not paths:
        return Area.objects.none()
    return Area.objects.filter(paths_q(paths, "path"))


class TokenForm(_Styled, forms.Form):
    name = forms.CharField(label=_("用途"), max_length=100)
    expires_at = forms.DateTimeField(
        label=_("过期时间"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()

    def clean_expires_at(self):
        """A token that is dead on arrival is a typo (a wrong year), not a wish: refuse it."""
        expires_at = self.cleaned_data.get("expires_at")
        if expires_at is not None and expires_at <= timezone.now():
            raise forms.ValidationError(
                gettext("过期时间必须晚于现在 (the expiry time must be in the future)"), code="expires_past"
            )
        return expires_at
