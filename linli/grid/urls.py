"""Grid work pages (``/grid/…``)."""

from django.urls import path

from . import views

app_name = "grid"
urlpatterns = [
    path("", views.desk, name="desk"),
    path("assignments/", views.assignments, name="assignments"),
    path("assignments/new/", views.assign, name="assign"),
    path("assignments/<int:pk>/end/", views.end_assignment, name="end_assignment"),
    path("visits/", views.visit_list, name="visits"),
    path("visits/new/<int:pk>/", views.visit_add, name="visit_add"),
    path("visits/<int:pk>/", views.visit_detail, name="visit"),
    path("visits/photos/<int:pk>/", views.visit_photo, name="visit_photo"),
    path("coverage/", views.coverage, name="coverage"),
    path("diary/", views.diary_list, name="diary_list"),
    path("diary/new/", views.diary_add, name="diary_add"),
    path("diary/<int:pk>/", views.diary_detail, name="diary"),
    path("diary/<int:pk>/edit/", views.diary_edit, name="diary_edit"),
    path("diary/<int:pk>/grade/", views.diary_grade, name="diary_grade"),
    path("patrols/", views.patrol_list, name="patrols"),
    path("patrols/check-in/", views.patrol_check_in, name="check_in"),
    path("patrols/<int:pk>/check-out/", views.patrol_check_out, name="check_out"),
    path("duty/", views.duty, name="duty"),
    path("duty/new/", views.duty_add, name="duty_add"),
    path("duty/<int:pk>/delete/", views.duty_delete, name="duty_delete"),
]
