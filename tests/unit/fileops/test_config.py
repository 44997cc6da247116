from __future__ import annotations

from pathlib import Path

import pytest

from dynamo.errors import ConfigurationError
from dynamo.fileops.config import load_fileops_config
from dynamo.storage import EmulatedTapeStorage, PosixStorage


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "fileops.toml"
    path.write_text(text)
    return path


def test_sites_and_options_are_read(tmp_path: Path) -> None:
    config = load_fileops_config(
        write(
            tmp_path,
            f"""
[fileops]
batch_size = 50
parallel = 8

[storage.T2_A]
url = "file://{tmp_path}/a"

[storage.T1_B_MSS]
url = "file://{tmp_path}/b"
tape = true
backend = "fts3"
""",
        )
    )
    assert config.manager.batch_size == 50
    assert config.worker.parallel == 8
    a, tape = config.endpoints["T2_A"], config.endpoints["T1_B_MSS"]
    assert isinstance(a.storage, PosixStorage)
    assert isinstance(tape.storage, EmulatedTapeStorage)
    assert config.endpoints.backend_of("T1_B_MSS") == "fts3"
    assert a.site_path("/store/x/y.root") == "/store/x/y.root"
    assert a.url_of("/store/y.root") == f"file://{tmp_path}/a/store/y.root"


def test_a_catalog_maps_lfns_to_site_paths(tmp_path: Path) -> None:
    (tmp_path / "storage.xml").write_text(
        f"""<storage-mapping>
<lfn-to-pfn protocol="direct" path-match="/store/(.*)" result="file://{tmp_path}/c/data/$1"/>
</storage-mapping>"""
    )
    config = load_fileops_config(
        write(
            tmp_path,
            f'[storage.C]\nurl = "file://{tmp_path}/c"\ncatalog = "storage.xml"\n'
            'protocol = "direct"\n',
        )
    )
    assert config.endpoints["C"].site_path("/store/x.root") == "/data/x.root"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[storage.A]\nurl = "ftp://host/x"\n', "storage.A.url = 'ftp://host/x'"),
        ('[storage.A]\nurl = "file:///x"\nbackend = "gridftp"\n', "storage.A.backend"),
        ('[storage.A]\nurl = "root://h//x"\ntape = true\n', "storage.A.tape"),
        ('[storage.A]\nurl = "file:///x"\ncolour = 1\n', "unknown key 'colour'"),
        ("[fileops]\nbatch_size = 0\n", "fileops.batch_size = 0"),
        ("[fileops]\nspeed = 3\n", "fileops.speed: unknown key"),
        ("[other]\n", "unknown table [other]"),
        ('[fts3]\nendpoint = "http://fts:8446"\n', "fts3.endpoint = 'http://fts:8446'"),
        ("[storage\n", "cannot read the configuration"),
    ],
)
def test_bad_configuration_names_file_key_and_value(
    tmp_path: Path, text: str, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigurationError) as caught:
        load_fileops_config(path)
    assert str(path) in str(caught.value)
    assert message in str(caught.value)


def test_the_fts3_table_is_kept_with_paths_made_absolute(tmp_path: Path) -> None:
    config = load_fileops_config(
        write(tmp_path, '[fts3]\nendpoint = "https://fts:8446"\ncert = "proxy.pem"\nretry = 3\n')
    )
    assert config.fts3 == {
        "endpoint": "https://fts:8446",
        "cert": str(tmp_path / "proxy.pem"),
        "retry": 3,
    }


def test_a_worker_reads_the_servers_own_file_whatever_tables_it_has(tmp_path: Path) -> None:
    from dynamo.server.config import _TABLES as SERVER_TABLES

    tables = "".join(f"[{name}]\n" for name in sorted(SERVER_TABLES | {"server"}))
    config = load_fileops_config(write(tmp_path, tables))
    assert config.manager.batch_size > 0
