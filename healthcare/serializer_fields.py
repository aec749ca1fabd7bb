"""Serializer fields the input serializers of every app share."""

from rest_framework import serializers


class TextField(serializers.CharField):
    """A CharField that takes text only: DRF's turns a number into its digits, which the schema
    (type: string) does not allow, so a client's wrong type would pass unnoticed."""

    default_error_messages = {"invalid": "Not text: send a string."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)
