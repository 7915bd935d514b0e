from django.urls import path
from rest_framework.decorators import api_view
from rest_framework.response import Response


@api_view(["GET"])
def whoami(request):
    return Response({"user": request.user.username})


whoami.linli_policy = "login"
urlpatterns = [path("whoami", whoami)]
