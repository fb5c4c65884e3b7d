from django.db import connection
from django.http import JsonResponse


def health(request):
    """Liveness of the web process and its database."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"database": "ok"})
