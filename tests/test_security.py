"""Security defaults: the app listens on this machine only; the lab's directories are private."""
import os
import pathlib
import stat
import tomllib

import pytest

from qml_core.store import cache

ROOT = pathlib.Path(__file__).resolve().parent.parent


def mode(path: pathlib.Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_app_binds_to_localhost():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] in ("localhost", "127.0.0.1")


@pytest.mark.parametrize("umask", [0o022, 0o000])
def test_cache_directories_the_lab_creates_are_private(tmp_path, monkeypatch, umask):
    monkeypatch.setenv("QML_LAB_CACHE", str(tmp_path / "lab" / "nested" / "results"))
    old = os.umask(umask)
    try:
        cache.open_cache().set("probe", 1)
    finally:
        os.umask(old)
    for path in (tmp_path / "lab", tmp_path / "lab" / "nested", tmp_path / "lab" / "nested" / "results"):
        assert mode(path) == 0o700, path


def test_existing_directories_are_left_alone(tmp_path, monkeypatch):
    tmp_path.chmod(0o755)
    monkeypatch.setenv("QML_LAB_CACHE", str(tmp_path / "results"))
    cache.open_cache()
    assert mode(tmp_path) == 0o755 and mode(tmp_path / "results") == 0o700


def test_default_location_is_private_under_home(tmp_path, monkeypatch):
    monkeypatch.delenv("QML_LAB_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache.cache_dir() == tmp_path / ".cache" / "qml_lab" / "results"
    cache.open_cache()
    for path in (tmp_path / ".cache", tmp_path / ".cache" / "qml_lab", tmp_path / ".cache" / "qml_lab" / "results"):
        assert mode(path) == 0o700, path


def test_xxz_data_directory_is_private(tmp_path, monkeypatch):
    from qml_core.data.xxz import load_xxz

    monkeypatch.setenv("QML_LAB_DATA", str(tmp_path / "lab" / "data"))
    load_xxz(6, n_grid=9)
    assert mode(tmp_path / "lab") == mode(tmp_path / "lab" / "data") == 0o700
