"""What every API view of the three apps shares: parsing, the tenant rule, the actor.

Views stay thin: validate the query or body with a serializer, call one service method
with explicit `tenant_id=`/`actor=`, return what it returns. The project promises
`request.tenant_id` ("" operator, "acme" tenant) and a principal with `sub` on `request.auth`.
"""

from __future__ import annotations

import functools
from typing import Any

from django.http import QueryDict
from django.utils.datastructures import MultiValueDict
from rest_framework import serializers, views, viewsets
from rest_framework.request import Request

from .compiled import CompiledSerializer, compile_serializer
from .tenancy import reading_tenant, writing_tenant

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def caller_tenant(request: Request) -> str:
    return getattr(request, "tenant_id", None) or ""


def actor_of(request: Request) -> str:
    return getattr(request.auth, "sub", "") or ""


@functools.cache
def shared_serializer(serializer_class: type[serializers.Serializer]) -> serializers.Serializer:
    """One bound instance per input serializer class, reused by every request.

    A new serializer deep-copies its fields (about 0.5 ms for a query of five fields);
    validation keeps no state on the instance, so one serves every request and thread.
    """
    serializer = serializer_class()
    serializer.fields  # noqa: B018  bind the fields now, not on a first concurrent request
    return serializer


@functools.cache
def _compiled(serializer_class: type[serializers.Serializer]) -> CompiledSerializer | None:
    return compile_serializer(shared_serializer(serializer_class))


class KitRequest(Request):
    """DRF's request, handing a plain JSON body straight to the parser that can take bytes.

    When the Content-Type is exactly the first parser's media type, the body has a length
    and nothing read it yet, a parser with `parse_body(body, parser_context)` gets the body
    bytes: no parser negotiation (which parses media types per parser), no stream wrapper.
    The result and the errors are DRF's: a failed parse leaves empty data and re-raises.
    Anything else (a charset parameter, another type, no length) goes through DRF's `_parse`.
    """

    def _parse(self) -> tuple[Any, MultiValueDict]:
        parser = self.parsers[0] if self.parsers else None
        parse_body = getattr(parser, "parse_body", None)
        meta = self._request.META
        if (
            parse_body is None
            or meta.get("CONTENT_TYPE") != parser.media_type
            or self._request._read_started
        ):
            return super()._parse()
        try:
            length = int(meta.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length <= 0:
            return super()._parse()
        body = self._request.body  # as DRF reads it for a JSON parser: errors propagate
        try:
            return parse_body(body, self.parser_context), MultiValueDict()
        except Exception:
            self._data = QueryDict("", encoding=self._request._encoding)
            self._files = MultiValueDict()
            self._full_data = self._data
            raise


# No docstrings on the kit's view classes: drf-spectacular would publish an inherited
# docstring as the description of every operation of a viewset that has none of its own.


class KitBaseView(views.APIView):
    # Builds a KitRequest where DRF builds its Request.

    def initialize_request(self, request: Any, *args: Any, **kwargs: Any) -> Request:
        return KitRequest(
            request,
            parsers=self.get_parsers(),
            authenticators=self.get_authenticators(),
            negotiator=self.get_content_negotiator(),
            parser_context=self.get_parser_context(request),
        )


class KitViewMixin:
    # Strict bodies everywhere, and the helpers a view needs to call a service.

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if request.method in _BODY_METHODS:
            # Parse every body, even one the action ignores: malformed or unsafe JSON is a 400.
            request.data  # noqa: B018

    @staticmethod
    def validated(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
        """`data` checked by the serializer: the validated values, or a 400 naming fields.

        The compiled serializer answers what it accepts; anything it refuses goes through
        the serializer itself, which says why."""
        compiled = _compiled(serializer_class)
        if compiled is not None:
            accepted = compiled(data)
            if accepted is not None:
                return accepted
        return shared_serializer(serializer_class).run_validation(data)

    def query(self, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
        # A plain dict: given the QueryDict, DRF would read an empty `?limit=` as absent.
        return self.validated(serializer_class, self.request.query_params.dict())

    def body(self, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
        return self.validated(serializer_class, self.request.data)

    def reading_tenant(self, query: dict[str, Any] | None = None) -> str | None:
        return reading_tenant(caller_tenant(self.request), (query or {}).get("tenant_id"))

    def writing_tenant(self) -> str:
        return writing_tenant(caller_tenant(self.request))

    def actor(self) -> str:
        return actor_of(self.request)


class KitAPIView(KitViewMixin, KitBaseView):
    pass


# DRF's ViewSet before KitBaseView: its ViewSetMixin's `initialize_request` (which sets the
# action) reaches KitBaseView's, and drf-spectacular's search for an inherited docstring
# stops at ViewSet, before ViewSetMixin's.
class KitViewSet(KitViewMixin, viewsets.ViewSet, KitBaseView):
    pass
