from __future__ import annotations

import uuid

import pytest

from dynamo.model import decode_block_name, encode_block_name


def test_canonical_uuid_block_names_become_ints_and_decode_exactly() -> None:
    for _ in range(200):
        name = str(uuid.uuid4())
        encoded = encode_block_name(name)
        assert isinstance(encoded, int)
        assert decode_block_name(encoded) == name


@pytest.mark.parametrize(
    "name",
    [
        "B8BACDD2-B6C9-11E2-809B-003048f0e7dc",  # upper case would not decode to itself
        "b8bacdd2_b6c9-11e2-809b-003048f0e7dc",
        "12345678-1234-1234-1234-1234567890a_",  # int() would accept the underscore
        "00000000-0000-0000-0000-00000000000",
        "block-2",
        "",
    ],
)
def test_other_block_names_are_kept_as_text(name: str) -> None:
    assert encode_block_name(name) == name
    assert decode_block_name(encode_block_name(name)) == name


def test_a_uuid_with_leading_zeros_keeps_them() -> None:
    name = "00000000-0000-4000-8000-000000000001"
    assert decode_block_name(encode_block_name(name)) == name
