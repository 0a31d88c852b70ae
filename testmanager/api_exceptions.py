"""One error shape for the whole API: {"message": "...", "errors": {"field": ["..."]}}."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions
from rest_framework.views import exception_handler as drf_exception_handler

NON_FIELD_KEYS = ("non_field_errors", "__all__")


def _flatten(detail):
    """Error details as plain strings: a list stays a list, nested dicts keep their keys."""
    if isinstance(detail, dict):
        return {str(key): _flatten(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_flatten(item) for item in detail]
    return str(detail)


def _first_text(value):
    while isinstance(value, (list, dict)) and value:
        value = next(iter(value.values())) if isinstance(value, dict) else value[0]
    return value if isinstance(value, str) else ""


def _validation_body(detail):
    if not isinstance(detail, dict):
        messages = [text for text in map(_first_text, detail if isinstance(detail, list) else [detail]) if text]
        return {"message": " ".join(messages) or "Invalid input.", "errors": {}}
    errors = _flatten(detail)
    general = [text for key in NON_FIELD_KEYS for text in errors.pop(key, [])]
    if general:
        message = " ".join(_first_text(text) for text in general)
    elif len(errors) == 1:
        field, problems = next(iter(errors.items()))
        message = f"{field}: {_first_text(problems)}"
    else:
        message = f"{len(errors)} fields are invalid: {', '.join(errors)}."
    return {"message": message, "errors": errors}


def api_exception_handler(exc, context):
    if isinstance(exc, Http404):
        # One wording for every missing or hidden object; Django's names the model.
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoValidationError):
        # Services raise Django's ValidationError; it means bad input, so it answers 400.
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = _validation_body(exc.detail)
    else:
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else response.data
        response.data = {"message": str(detail), "errors": {}}
    return response
