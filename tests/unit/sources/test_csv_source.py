"""The CSV adapter on hand-written files: the documented layout, and errors that name the
file, line and column."""

from __future__ import annotations

from pathlib import Path

import pytest

from dynamo.model import StorageType
from dynamo.sources import CsvSource, SourceFormatError, open_source, read_snapshot


def write(directory: Path, **files: str) -> Path:
    directory.mkdir(exist_ok=True)
    for name, text in files.items():
        (directory / f"{name}.csv").write_text(text)
    return directory


def test_a_hand_written_directory_reads_as_documented(tmp_path: Path) -> None:
    directory = write(
        tmp_path / "src",
        sites="name,storage_type\nT2_US_MIT,disk\nT1_US_FNAL_MSS,MSS\n",
        quotas="site,partition,quota\nT2_US_MIT,AnalysisOps,-1\n",
        datasets="name,is_open\n/A/B/RAW,false\n",
        blocks="dataset,name,size,num_files\n/A/B/RAW,b1,10,1\n",
        files="dataset,block,lfn,size\n/A/B/RAW,b1,/store/a.root,10\n",
        replicas="dataset,site,group\n/A/B/RAW,T2_US_MIT,\n/A/B/RAW,T1_US_FNAL_MSS,DataOps\n",
        block_replicas="dataset,site,block,size,num_files\n/A/B/RAW,T2_US_MIT,b1,4,\n",
        users='name,dn\njdoe,"CN=John Doe,OU=Users,DC=cern,DC=ch"\n',
        user_roles="user,role,target\njdoe,OPERATOR,inventory\n",
        demand="dataset,jobs,queued\n/A/B/RAW,12,1700000000\n",
    )
    source = open_source(str(directory))
    assert isinstance(source, CsvSource)
    snapshot = read_snapshot(source, None)
    assert snapshot.sections == {"sites", "datasets", "replicas", "users", "demand"}
    assert snapshot.sites[1].storage_type is StorageType.MSS
    assert snapshot.sites[0].quotas == (("AnalysisOps", -1),)
    assert snapshot.datasets[0].blocks[0].files[0].lfn == "/store/a.root"
    partial, whole = snapshot.replicas
    assert partial.group is None
    assert partial.blocks is not None
    assert partial.blocks[0].size == 4
    assert partial.blocks[0].num_files is None
    assert whole.blocks is None
    assert whole.group == "DataOps"
    assert snapshot.users[0].dn == "/DC=ch/DC=cern/OU=Users/CN=John Doe"
    assert snapshot.users[0].roles == (("operator", "inventory"),)
    assert snapshot.demand[0].jobs == 12


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"datasets": "name,size\n/A/B/C,1\n"}, "unknown columns ['size']"),
        (
            {"sites": "name\nX\n", "quotas": "site,partition,quota\nX,P,lots\n"},
            "line 2 column quota",
        ),
        (
            {"blocks": "dataset,name,size,num_files\n/A/B/C,b,1,1\n"},
            "blocks.csv needs datasets.csv",
        ),
        (
            {"datasets": "name\n/A/B/C\n", "blocks": "dataset,name,size,num_files\n/X/Y/Z,b,1,1\n"},
            "blocks.csv: rows of '/X/Y/Z'",
        ),
        ({"datasets": "name,is_open\n/A/B/C,maybe\n"}, "expected true or false"),
        ({"blocks": "x", "datasets": "name,blocks\n/A/B/C,b\n"}, "unknown columns"),
        (
            {"users": "name,dn\njdoe,/CN=j\n", "user_roles": "user,role,target\njdoe,boss,all\n"},
            "a role of",
        ),
    ],
)
def test_a_bad_directory_is_refused_whole(
    tmp_path: Path, files: dict[str, str], message: str
) -> None:
    source = CsvSource(write(tmp_path / "bad", **files))
    with pytest.raises(SourceFormatError, match=message.replace("[", r"\[").replace("(", r"\(")):
        read_snapshot(source, None)
