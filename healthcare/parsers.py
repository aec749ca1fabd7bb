"""The API's JSON parser."""

from rest_framework import exceptions
from rest_framework.parsers import JSONParser


class DepthSafeJSONParser(JSONParser):
    """JSON, where a body nested too deep to decode is a parse error like any other invalid JSON
    (Python's decoder gives up with RecursionError, which DRF's parser lets through as a 500)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("JSON parse error - nested too deeply.") from None
