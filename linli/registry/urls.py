from django.urls import path

from . import views

app_name = "registry"
urlpatterns = [
    path("persons/", views.PersonListView.as_view(), name="persons"),
    path("persons/new/", views.PersonCreateView.as_view(), name="person_add"),
    path("persons/duplicates/", views.duplicate_list, name="duplicates"),
    path("persons/<int:pk>/", views.PersonDetailView.as_view(), name="person"),
    path("persons/<int:pk>/edit/", views.PersonUpdateView.as_view(), name="person_edit"),
    path("persons/<int:pk>/reveal/", views.person_reveal, name="person_reveal"),
    path("persons/<int:pk>/move-out/", views.person_move_out, name="person_move_out"),
    path("persons/<int:pk>/death/", views.person_death, name="person_death"),
    path("persons/<int:pk>/move-in/", views.person_move_in, name="person_move_in"),
    path("persons/<int:pk>/merge/<int:other_pk>/", views.person_merge, name="person_merge"),
    path("households/", views.HouseholdListView.as_view(), name="households"),
    path("households/new/", views.HouseholdCreateView.as_view(), name="household_add"),
    path("households/<int:pk>/", views.HouseholdDetailView.as_view(), name="household"),
    path("households/<int:pk>/edit/", views.HouseholdUpdateView.as_view(), name="household_edit"),
    path("households/<int:pk>/birth/", views.household_birth, name="household_birth"),
    path("households/<int:pk>/split/", views.household_split, name="household_split"),
    path("households/<int:pk>/merge/", views.household_merge, name="household_merge"),
    path("houses/", views.HouseListView.as_view(), name="houses"),
    path("houses/<int:pk>/", views.HouseDetailView.as_view(), name="house"),
    path("buildings/", views.BuildingListView.as_view(), name="buildings"),
    path("buildings/<int:pk>/", views.BuildingDetailView.as_view(), name="building"),
]
