from django.urls import path

from cases.api.views import CaseDetailView, CaseListCreateView, CaseRunStartView

urlpatterns = [
    path("", CaseListCreateView.as_view(), name="case-list"),
    path("<int:pk>/", CaseDetailView.as_view(), name="case-detail"),
    path("<int:pk>/runs/", CaseRunStartView.as_view(), name="case-run-start"),
]
