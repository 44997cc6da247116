from __future__ import annotations

import pytest

from dynamo.errors import StoreError
from dynamo.store.bulk import format_copy_text


def test_copy_text_escapes_backslash_tab_newline_and_carriage_return() -> None:
    text = format_copy_text([(1, "a\\b\tc\nd\re")])
    assert text == "1\ta\\\\b\\tc\\nd\\re\n"


def test_copy_text_writes_null_and_booleans_in_postgresql_form() -> None:
    assert format_copy_text([(None, True, False, "é")]) == "\\N\tt\tf\té\n"


def test_copy_text_of_no_rows_is_empty() -> None:
    assert format_copy_text([]) == ""


def test_copy_text_refuses_values_it_cannot_represent() -> None:
    with pytest.raises(StoreError, match="float"):
        format_copy_text([(1.5,)])
