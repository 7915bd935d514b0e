"""User administration pages (``accounts.*``). Included by the project's urls.py under ``manage/users/``."""

from django.urls import path

from . import manage_views as views

app_name = "manage"

urlpatterns = [
    path("", views.user_list, name="users"),
    path("new/", views.user_create, name="user_create"),
    path("<int:pk>/", views.user_detail, name="user"),
    path("<int:pk>/edit/", views.user_edit, name="user_edit"),
    path("<int:pk>/active/", views.user_active, name="user_active"),
    path("<int:pk>/password/", views.user_password, name="user_password"),
    path("<int:pk>/roles/grant/", views.role_grant, name="role_grant"),
    path("<int:pk>/roles/revoke/", views.role_revoke, name="role_revoke"),
    path("<int:pk>/tokens/issue/", views.token_issue, name="token_issue"),
    path("<int:pk>/tokens/revoke/", views.token_revoke, name="token_revoke"),
]
