"""The config drive's ISO writer read back by independent readers: pycdlib (every descriptor,
path table, directory record and Rock Ridge entry), and, where installed, isoinfo and xorriso
(genisoimage's and libisofs's own checks), for trees a config drive has and edge cases it may."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pycdlib
import pytest

from vistack.compute.domain import iso9660

TREE = [
    ("openstack/latest/meta_data.json", b'{"uuid": "x"}'),
    ("openstack/latest/user_data", b"#!/bin/sh\necho hi\n"),
    ("openstack/latest/vendor_data.json", b"{}"),
    ("openstack/latest/vendor_data2.json", b"{}"),
    ("openstack/2012-08-10/meta_data.json", b"{}"),
    ("ec2/latest/meta-data.json", b"{}"),
]


def read_back(data: bytes) -> tuple[dict[str, bytes], dict[str, bytes], dict[str, int]]:
    """(files by Rock Ridge path, files by Joliet path, Rock Ridge modes by path)."""
    iso = pycdlib.PyCdlib()
    iso.open_fp(io.BytesIO(data))
    try:
        by_rr: dict[str, bytes] = {}
        modes: dict[str, int] = {}
        for root, directories, names in iso.walk(rr_path="/"):
            for name in directories:
                path = f"{root.rstrip('/')}/{name}"
                modes[path] = _mode(iso, path)
            for name in names:
                path = f"{root.rstrip('/')}/{name}"
                out = io.BytesIO()
                iso.get_file_from_iso_fp(out, rr_path=path)
                by_rr[path.lstrip("/")] = out.getvalue()
                modes[path] = _mode(iso, path)
        by_joliet: dict[str, bytes] = {}
        for root, _, names in iso.walk(joliet_path="/"):
            for name in names:
                path = f"{root.rstrip('/')}/{name}"
                out = io.BytesIO()
                iso.get_file_from_iso_fp(out, joliet_path=path)
                by_joliet[path.lstrip("/")] = out.getvalue()
        assert iso.pvd.volume_identifier.rstrip() == b"config-2"
        return by_rr, by_joliet, modes
    finally:
        iso.close()


def _mode(iso: pycdlib.PyCdlib, rr_path: str) -> int:
    record = iso.get_record(rr_path=rr_path)
    rock_ridge = getattr(record, "rock_ridge", None)
    assert rock_ridge is not None, rr_path
    return int(rock_ridge.get_file_mode())


def test_both_trees_hold_every_file_with_its_bytes() -> None:
    by_rr, by_joliet, modes = read_back(iso9660.build(TREE, "config-2"))
    assert by_rr == dict(TREE)
    assert by_joliet == dict(TREE)
    assert modes["/openstack/latest"] == 0o40555
    assert modes["/openstack/latest/user_data"] == 0o100444


def test_a_directory_larger_than_a_sector_and_files_larger_than_one() -> None:
    """Records never cross a sector; a directory then spans several, and so does a big file."""
    many = [(f"openstack/latest/file-with-a-long-name-{n:03d}.json", b"%d" % n) for n in range(60)]
    big = ("openstack/latest/user_data", bytes(range(256)) * 40)  # five sectors
    empty = ("openstack/latest/empty", b"")
    tree = [*many, big, empty]
    by_rr, by_joliet, _ = read_back(iso9660.build(tree, "config-2"))
    assert by_rr == dict(tree)
    assert by_joliet == dict(tree)


def test_a_path_given_twice_or_through_a_file_is_refused() -> None:
    with pytest.raises(iso9660.IsoError, match="twice"):
        iso9660.build([("a/b", b"1"), ("a/b", b"2")], "config-2")
    with pytest.raises(iso9660.IsoError, match="is a file"):
        iso9660.build([("a", b"1"), ("a/b", b"2")], "config-2")
    with pytest.raises(iso9660.IsoError, match="empty path"):
        iso9660.build([("/", b"1")], "config-2")


@pytest.mark.skipif(shutil.which("isoinfo") is None, reason="needs isoinfo (genisoimage)")
def test_isoinfo_finds_joliet_rock_ridge_and_the_files(tmp_path: Path) -> None:
    image = tmp_path / "cd.iso"
    image.write_bytes(iso9660.build(TREE, "config-2"))
    described = _run("isoinfo", "-d", "-i", str(image))
    assert "Volume id: config-2" in described
    assert "Joliet with UCS level 3 found" in described
    assert "Rock Ridge signatures version 1 found" in described
    listed = _run("isoinfo", "-R", "-f", "-i", str(image)).split()
    assert "/openstack/latest/vendor_data2.json" in listed
    shown = _run("isoinfo", "-R", "-x", "/openstack/latest/user_data", "-i", str(image))
    assert shown == "#!/bin/sh\necho hi\n"


@pytest.mark.skipif(shutil.which("xorriso") is None, reason="needs xorriso")
def test_xorriso_reads_the_tree_without_complaint(tmp_path: Path) -> None:
    image = tmp_path / "cd.iso"
    image.write_bytes(iso9660.build(TREE, "config-2"))
    found = subprocess.run(
        ["xorriso", "-indev", str(image), "-find", "/", "-type", "f"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "WARNING" not in found.stderr and "SORRY" not in found.stderr, found.stderr
    listed = {line.strip("'") for line in found.stdout.split()}
    assert listed == {f"/{path}" for path, _ in TREE}


def _run(*command: str) -> str:
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout
