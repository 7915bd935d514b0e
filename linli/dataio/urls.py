from django.urls import path

from . import views

app_name = "dataio"

urlpatterns = [
    path("import/", views.import_start, name="import"),
    path("import/jobs/", views.job_list, name="jobs"),
    path("import/jobs/<int:pk>/", views.job_detail, name="job"),
    path("import/jobs/<int:pk>/progress/", views.job_progress, name="job_progress"),
    path("import/jobs/<int:pk>/commit/", views.job_commit, name="job_commit"),
    path("import/jobs/<int:pk>/errors.<str:fmt>", views.job_errors, name="job_errors"),
    path("import/templates/<slug:kind>.<str:fmt>", views.template_download, name="template"),
    path("export/persons/", views.export_persons, name="export_persons"),
    path("export/persons/reveal/", views.export_persons_revealed, name="export_persons_revealed"),
    path("export/households/", views.export_households, name="export_households"),
    path("export/houses/", views.export_houses, name="export_houses"),
    path("export/buildings/", views.export_buildings, name="export_buildings"),
    path("reports/community-survey/", views.survey_report, name="survey"),
    path("reports/community-survey.xlsx", views.survey_download, name="survey_xlsx"),
    path("reports/statistics/refresh/", views.stats_refresh, name="stats_refresh"),
]
