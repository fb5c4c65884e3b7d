"""The REST API under ``/api/``: thin views over the annotation services and selectors."""
