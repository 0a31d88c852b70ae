"""How API lists are paged: page numbers for every list; the issue list also reads by cursor.

The issue list's numbered pages do not join the rows before them: an OFFSET over the list's index
selects the page's ids, then only those rows are read with their joins (a "deferred join"). Joining
first made page 150 of 10,000 issues join 7,500 rows to throw them away (25 ms on PostgreSQL).
"""

from django.core import signing
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import F, Field, Func, Q, Value
from django.db.models.lookups import GreaterThan, LessThan
from rest_framework import exceptions
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param


class DeferredJoinPaginator(Paginator):
    """Django's paginator, reading a page as `pk IN (the page's ids by OFFSET)` in one query: the
    inner select runs on the list's order index alone, the outer one joins 50 rows, not the offset."""

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        page_ids = self.object_list.values("pk")[bottom:top]
        return self._get_page(self.object_list.filter(pk__in=page_ids), number, self)


class ApiPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class CursorPosition:
    """Where a cursor stands in a list: the list's order (fields, `-` for descending) and the values
    of one row in those fields; `backward` reads the page before that row instead of after it."""

    SALT = "projects.pagination.cursor"

    def __init__(self, ordering: list[str], values: list, backward: bool):
        self.ordering, self.values, self.backward = ordering, values, backward

    def encode(self) -> str:
        """Opaque to clients and signed: a changed cursor is refused, not read as another position."""
        return signing.dumps([self.ordering, self.values, self.backward], salt=self.SALT, compress=True)

    @classmethod
    def decode(cls, cursor: str) -> "CursorPosition":
        try:
            ordering, values, backward = signing.loads(cursor, salt=cls.SALT)
        except (signing.BadSignature, ValueError, TypeError) as bad:
            raise exceptions.ValidationError({"cursor": [INVALID_CURSOR]}) from bad
        return cls(ordering, values, backward)


INVALID_CURSOR = "Invalid cursor: send one of the `next` or `previous` links of an earlier answer unchanged."
OTHER_ORDERING = "This cursor was made for another ordering: keep the `ordering` it was read with, or start again."


def _field_name(ordering_item: str) -> str:
    return ordering_item.removeprefix("-")


def _field(model, name: str):
    return model._meta.pk if name == "pk" else model._meta.get_field(name)


def _is_unique(model, names: set[str]) -> bool:
    """Whether rows differ in these fields: a unique field among them, or all of a unique constraint's."""
    fields = [_field(model, name) for name in names]
    if any(field.unique for field in fields):
        return True
    attnames = {field.attname for field in fields}
    together = [constraint.fields for constraint in model._meta.total_unique_constraints]
    return any({_field(model, name).attname for name in unique_names} <= attnames for unique_names in together)


class PageOrCursorPagination(ApiPagination):
    """`?page=N` as on every list (the count, and links to the pages around it), or `?cursor=`:
    from its start (empty) or from a `next` / `previous` link, a page read by keyset, `WHERE (the
    list's order) beyond the last row shown`, so the 2,000th page costs what the first does, and
    issues added or removed meanwhile never make a walk show an issue twice or skip one.

    The cursor only says where in the list to continue: the list is still the caller's projects and
    the request's filters, so a cursor shows nothing a page number would not."""

    django_paginator_class = DeferredJoinPaginator
    cursor_query_param = "cursor"
    cursor_query_description = (
        "Read by cursor instead of page number: empty for the first page, then the `next` or `previous` "
        "link of the answer. Deep pages cost what the first does; answers have no `count`."
    )

    def paginate_queryset(self, queryset, request, view=None):
        self.cursor = None
        if self.cursor_query_param not in request.query_params:
            return super().paginate_queryset(queryset, request, view)
        self.request = request
        self.page_size = self.get_page_size(request)
        ordering = self._keyset_ordering(queryset)
        raw = request.query_params[self.cursor_query_param]
        position = CursorPosition.decode(raw) if raw else None
        if position is not None and position.ordering != ordering:
            raise exceptions.ValidationError({"cursor": [OTHER_ORDERING]})
        rows = self._rows(queryset.order_by(*ordering), ordering, position)
        self.cursor = self._links(rows, ordering, position)
        return rows

    def _keyset_ordering(self, queryset) -> list[str]:
        """The queryset's order, made total: the primary key breaks ties unless the fields are unique."""
        ordering = [str(item) for item in queryset.query.order_by]
        if not _is_unique(queryset.model, {_field_name(item) for item in ordering}):
            pk = queryset.model._meta.pk.name
            ordering.append(f"-{pk}" if ordering and ordering[-1].startswith("-") else pk)
        return ordering

    def _rows(self, queryset, ordering: list[str], position: CursorPosition | None) -> list:
        """The page's rows in list order (reading one more to learn whether more lie beyond them)."""
        if position is not None:
            queryset = queryset.filter(_beyond(queryset.model, ordering, position))
        if position is not None and position.backward:
            queryset = queryset.reverse()
        rows = list(queryset[: self.page_size + 1])
        self.has_more = len(rows) > self.page_size
        rows = rows[: self.page_size]
        return rows[::-1] if position is not None and position.backward else rows

    def _links(self, rows, ordering: list[str], position: CursorPosition | None) -> dict[str, str | None]:
        backward = position is not None and position.backward
        more_after = self.has_more if not backward else True
        more_before = position is not None and (self.has_more if backward else True)
        url = self.request.build_absolute_uri()
        links = {"next": None, "previous": None}
        if rows and more_after:
            links["next"] = self._link(url, CursorPosition(ordering, _values(rows[-1], ordering), False))
        if rows and more_before:
            links["previous"] = self._link(url, CursorPosition(ordering, _values(rows[0], ordering), True))
        if not rows and position is not None:  # beyond either end: the way back is where it stood
            links["previous" if not backward else "next"] = self._link(
                url, CursorPosition(ordering, position.values, not backward)
            )
        return links

    def _link(self, url: str, position: CursorPosition) -> str:
        url = remove_query_param(url, self.page_query_param)
        return replace_query_param(url, self.cursor_query_param, position.encode())

    def get_paginated_response(self, data):
        if self.cursor is None:
            return super().get_paginated_response(data)
        return Response({**self.cursor, "results": data})

    def get_paginated_response_schema(self, schema):
        described = super().get_paginated_response_schema(schema)
        described["required"] = ["results"]
        described["properties"]["count"]["description"] = "Total number of matches; left out of cursor answers."
        for link in ("next", "previous"):
            described["properties"][link]["description"] = (
                f"The {link} page: by page number, or by cursor when the request sent `cursor`."
            )
        return described

    def get_schema_operation_parameters(self, view):
        cursor = {
            "name": self.cursor_query_param,
            "required": False,
            "in": "query",
            "description": self.cursor_query_description,
            "schema": {"type": "string"},
        }
        return [*super().get_schema_operation_parameters(view), cursor]


def _values(row, ordering: list[str]) -> list:
    """The row's values in the ordering's fields, as JSON keeps them (times as ISO 8601 text)."""
    values = []
    for item in ordering:
        value = getattr(row, _field(type(row), _field_name(item)).attname)
        values.append(value.isoformat() if hasattr(value, "isoformat") else value)
    return values


class _Row(Func):
    """A row value, `(a, b)`: compared field by field in order, as an index on (a, b) is sorted."""

    template = "(%(expressions)s)"
    output_field = Field()


def _beyond(model, ordering: list[str], position: CursorPosition):
    """Rows past the position in the list's order (before it, reading backward). When every field
    goes one way, one row comparison, `(a, b) < (x, y)`: PostgreSQL starts an index on (a, b) right
    there. Mixed directions need the expansion: equal in the first fields and past it in the next,
    for each length of that prefix (an index then filters every row before the position)."""
    if len(position.values) != len(ordering):
        raise exceptions.ValidationError({"cursor": [INVALID_CURSOR]})
    names = [_field_name(item) for item in ordering]
    values = [_cursor_value(model, name, raw) for name, raw in zip(names, position.values, strict=True)]
    descending = [item.startswith("-") != position.backward for item in ordering]
    if len(set(descending)) == 1:
        before = LessThan if descending[0] else GreaterThan
        fields = [F(name) for name in names]
        positions = [Value(value, output_field=_field(model, name)) for name, value in zip(names, values, strict=True)]
        return before(_Row(*fields), _Row(*positions))
    beyond, equal = Q(), {}
    for name, value, down in zip(names, values, descending, strict=True):
        beyond |= Q(**equal, **{f"{name}__{'lt' if down else 'gt'}": value})
        equal[name] = value
    return beyond


def _cursor_value(model, name: str, raw):
    try:
        return _field(model, name).to_python(raw)
    except ValidationError as bad:
        raise exceptions.ValidationError({"cursor": [INVALID_CURSOR]}) from bad
