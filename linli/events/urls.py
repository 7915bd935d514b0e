"""Event pages (``/events/…``) and the resident portal (``/portal/…``); include at the site root."""

from django.urls import path

from . import portal, views

app_name = "events"
urlpatterns = [
    path("events/", views.event_list, name="list"),
    path("events/new/", views.event_add, name="add"),
    path("events/metrics/", views.metrics_page, name="metrics"),
    path("events/notifications/", views.notification_list, name="notifications"),
    path("events/notifications/read/", views.notifications_read, name="notifications_read"),
    path("events/<int:pk>/", views.event_detail, name="detail"),
    path("events/<int:pk>/act/", views.event_action, name="act"),
    path("events/<int:pk>/attachment/", views.attachment_download, name="attachment"),
    path("portal/", portal.portal_submit, name="portal_submit"),
    path("portal/done/", portal.portal_done, name="portal_done"),
    path("portal/track/", portal.portal_track, name="portal_track"),
    path("portal/rate/", portal.portal_rate, name="portal_rate"),
    path("portal/mine/", portal.portal_mine, name="portal_mine"),
]
