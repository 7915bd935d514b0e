from django.urls import path

from . import views

app_name = "areas"
urlpatterns = [
    path("tree/", views.tree_roots, name="tree"),
    path("tree/<int:pk>/", views.tree_node, name="tree_node"),
]
