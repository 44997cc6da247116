from __future__ import annotations

from pathlib import Path

import pytest

from dynamo.errors import ConfigurationError
from dynamo.server.config import load_config


def test_site_catalogs_are_read_from_the_server_configuration(tmp_path: Path) -> None:
    path = tmp_path / "dynamo.toml"
    path.write_text(
        '[catalogs]\nT2_US_Nebraska = "tfc/storage.xml"\n'
        'T1_DE_KIT_Disk = { path = "kit/storage.json", volume = "KIT_dCache", protocol = "XRootD" }\n'
    )
    catalogs = {c.site: c for c in load_config(path).catalogs}
    assert catalogs["T2_US_Nebraska"].path == tmp_path / "tfc/storage.xml"
    assert (catalogs["T1_DE_KIT_Disk"].volume, catalogs["T1_DE_KIT_Disk"].protocol) == (
        "KIT_dCache",
        "XRootD",
    )


def test_a_catalog_without_a_path_is_a_configuration_error(tmp_path: Path) -> None:
    path = tmp_path / "dynamo.toml"
    path.write_text('[catalogs]\nT2_US_Nebraska = { file = "x" }\n')
    with pytest.raises(ConfigurationError, match="T2_US_Nebraska: give a path"):
        load_config(path)
