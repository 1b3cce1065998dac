"""The JSON parser every view uses: DRF's, plus a 400 for absurdly nested documents.

Python's json module recurses per nesting level, so a small body of 50,000 `[` raises
RecursionError; that is bad input, not a server error.
"""

from __future__ import annotations

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - nesting too deep.") from exc
