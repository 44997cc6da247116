"""RecordView: a response model that takes a frozen record's fields instead of repeating them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import pytest
from pydantic import ValidationError

from dynamo.api.views import RecordView


class Colour(StrEnum):
    RED = "red"


@dataclass(frozen=True, slots=True, kw_only=True)
class Paint:
    id: int
    colour: str
    note: str | None
    coats: tuple[int, ...]


class PaintView(RecordView, record=Paint, types={"colour": Colour, "coats": list[int]}):
    """A paint."""


def test_a_record_view_has_the_record_fields_in_order_with_the_replaced_types() -> None:
    schema = PaintView.model_json_schema()
    assert list(schema["properties"]) == ["id", "colour", "note", "coats"]
    assert schema["required"] == ["id", "colour", "note", "coats"]
    assert schema["properties"]["colour"] == {"$ref": "#/$defs/Colour"}
    assert schema["properties"]["coats"]["type"] == "array"
    assert schema["properties"]["note"]["anyOf"] == [{"type": "string"}, {"type": "null"}]
    assert schema["description"] == "A paint."
    assert schema["additionalProperties"] is False


def test_a_record_view_is_built_from_the_record_and_refuses_other_fields() -> None:
    values = {"id": 1, "colour": "red", "note": None, "coats": [2]}
    assert PaintView(**values).model_dump() == {**values, "colour": Colour.RED}
    with pytest.raises(ValidationError):
        PaintView(**values, extra=1)


def test_a_type_for_a_field_the_record_does_not_have_is_refused() -> None:
    with pytest.raises(TypeError, match="Paint has no field"):

        class Wrong(RecordView, record=Paint, types={"colours": Colour}):
            pass
