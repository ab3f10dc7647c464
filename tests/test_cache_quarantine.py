"""The cache never touches a file outside its own folder, follows no link inside it, and an
unreadable entry, value or lock, is moved to the quarantine folder (of bounded size) with one
warning line and computed again."""
import json
import os
import pathlib
import pickle
import sqlite3
import stat

import numpy as np
import pytest

from probes import run_python
from qml_core.specs import ExperimentSpec
from qml_core.store import cache, codec, quarantine

SPEC = ExperimentSpec(seed=21)
STORE = """
import sys
import numpy as np
from qml_core.specs import ExperimentSpec
from qml_core.store import cache
result, was_cached = cache.cached("train", ExperimentSpec(seed=int(sys.argv[1])),
                                  lambda: {"val_acc": 0.5, "params": np.zeros(70_000)})  # a 560 kB value file
print(was_cached, len(result["params"]))
"""
MODES = {"raw": 1, "binary": 2, "text": 3, "pickle": 4, "lab": codec.MODE_LAB}  # diskcache's modes and ours


def db_update(key: str, **columns) -> None:
    names = ", ".join(f"{name} = ?" for name in columns)
    with sqlite3.connect(cache.cache_dir() / "cache.db") as db:
        assert db.execute(f"UPDATE Cache SET {names} WHERE key = ?", (*columns.values(), key)).rowcount == 1


def plant(kind: str, **columns) -> str:
    """A row under the value key of SPEC ("value") or its lock key ("lock") with ``columns``;
    returns the key."""
    key = cache.result_key("train", SPEC)
    if kind == "lock":
        key = "lock:" + key
    cache.open_cache().set(key, "placeholder")
    db_update(key, **columns)
    return key


@pytest.fixture
def canary(tmp_path) -> pathlib.Path:
    """A user's file two folders deep beside the cache: nothing may delete, read or write it."""
    path = tmp_path / "victims" / "notes" / "canary.txt"
    path.parent.mkdir(parents=True)
    path.write_text("the user's words")
    return path


def assert_untouched(canary: pathlib.Path) -> None:
    assert canary.read_text() == "the user's words"
    assert canary.parent.is_dir() and canary.parent.parent.is_dir()


def quarantined(directory: pathlib.Path) -> list[dict]:
    entries = [json.loads(p.read_text()) for p in (directory / "quarantine").glob("*/entry.json")]
    return sorted(entries, key=lambda entry: entry["time"])


def names_for(canary: pathlib.Path) -> list[str]:
    """The absolute name, a ../ name relative to the cache, and a ../ name hidden behind a
    diskcache-shaped prefix."""
    relative = os.path.relpath(canary, cache.cache_dir())
    return [str(canary), relative, "ab/cd/../../" + relative]


@pytest.mark.parametrize("kind", ["value", "lock"])
@pytest.mark.parametrize("mode", MODES)
def test_a_file_name_outside_the_cache_is_never_touched_and_the_entry_is_quarantined(kind, mode, canary, capsys):
    for i, name in enumerate(names_for(canary)):
        key = plant(kind, mode=MODES[mode], filename=name, value=None)
        fresh = {"val_acc": 0.25 + i}
        assert cache.cached("train", SPEC, lambda: fresh) == (fresh, False)
        assert_untouched(canary)
        assert cache.cached("train", SPEC, lambda: pytest.fail("recomputed")) == (fresh, True)
        entries = quarantined(cache.cache_dir())
        assert entries[-1]["key"] == key and entries[-1]["stored_file_name"] == name
        assert not entries[-1]["value_file_moved"] and "outside the cache" in entries[-1]["reason"]
        line = capsys.readouterr().err.strip()
        assert line.startswith("warning: the result cache held ") and "\n" not in line and "quarantine" in line
        cache.open_cache().delete(cache.result_key("train", SPEC))  # for the next name
    assert len(quarantined(cache.cache_dir())) == 3


def test_a_value_folder_linked_outside_the_cache_is_not_followed(canary, capsys):
    cache.cached("train", SPEC, lambda: {"val_acc": 0.5, "params": np.zeros(20_000)})  # a value file
    key = cache.result_key("train", SPEC)
    with sqlite3.connect(cache.cache_dir() / "cache.db") as db:
        (name,) = db.execute("SELECT filename FROM Cache WHERE key = ?", (key,)).fetchone()
    first = cache.cache_dir() / name.split("/")[0]
    for path in sorted(first.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    first.rmdir()
    first.symlink_to(canary.parent.parent)  # ab -> victims: ab/cd/<name>.val lies outside
    (canary.parent.parent / name.split("/")[1]).mkdir()
    planted = canary.parent.parent / name.split("/", 1)[1]
    planted.write_bytes(b"outside")
    assert cache.cached("train", SPEC, lambda: {"val_acc": 0.75}) == ({"val_acc": 0.75}, False)
    assert planted.read_bytes() == b"outside"
    assert_untouched(canary)
    assert "points outside the cache" in quarantined(cache.cache_dir())[0]["reason"]


def test_removing_an_entry_leaves_the_cache_folder_and_its_parents(tmp_path):
    store = cache.open_cache()
    store.set("train:big", {"params": np.zeros(20_000)})
    store.delete("train:big")
    assert (cache.cache_dir() / "cache.db").is_file()
    assert [p for p in cache.cache_dir().iterdir() if p.is_dir()] == []  # its two subfolders went with it


class Payload:
    """Unpickling this creates the file ``path``."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return open, (self.path, "w")


def damages(marker: pathlib.Path) -> dict:
    """Column updates for a row: a pickle that would create ``marker``, random bytes, and a
    lab value cut short."""
    whole = codec.encode({"val_acc": 0.5, "params": np.arange(10.0)})
    return {"pickle": dict(mode=4, value=pickle.dumps(Payload(marker)), filename=None),
            "random bytes": dict(mode=codec.MODE_LAB, value=os.urandom(300), filename=None),
            "truncated": dict(mode=codec.MODE_LAB, value=whole[:len(whole) // 2], filename=None)}


@pytest.mark.parametrize("kind", ["value", "lock"])
@pytest.mark.parametrize("damage", ["pickle", "random bytes", "truncated"])
def test_an_unreadable_entry_is_quarantined_and_recomputed_and_never_runs(kind, damage, tmp_path, capsys):
    marker = tmp_path / "payload-ran.txt"
    columns = damages(marker)[damage]
    key = plant(kind, **columns)
    assert cache.cached("train", SPEC, lambda: {"val_acc": 0.5}) == ({"val_acc": 0.5}, False)
    assert cache.cached("train", SPEC, lambda: pytest.fail("recomputed")) == ({"val_acc": 0.5}, True)
    assert not marker.exists()
    (entry,) = quarantined(cache.cache_dir())
    assert entry["key"] == key
    (folder,) = (cache.cache_dir() / "quarantine").iterdir()
    assert (folder / "value.bin").read_bytes() == columns["value"]  # kept as bytes, never loaded
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and str(folder) in lines[0]
    assert ("a lock" in lines[0]) == (kind == "lock")
    assert quarantine.quarantined_since(cache.cache_dir(), entry["time"]) == lines
    assert quarantine.quarantined_since(cache.cache_dir(), entry["time"] + 1) == []


def test_a_lock_that_names_no_holder_is_quarantined(capsys):
    key = "lock:" + cache.result_key("train", SPEC)
    cache.open_cache().set(key, {"host": "nowhere"})  # readable, but not a holder
    assert cache.cached("train", SPEC, lambda: {"val_acc": 0.5}) == ({"val_acc": 0.5}, False)
    assert "names no lock holder" in quarantined(cache.cache_dir())[0]["reason"]


def test_a_damaged_value_file_is_moved_into_the_quarantine(capsys):
    cache.cached("train", SPEC, lambda: {"val_acc": 0.5, "params": np.zeros(20_000)})
    key = cache.result_key("train", SPEC)
    with sqlite3.connect(cache.cache_dir() / "cache.db") as db:
        (name,) = db.execute("SELECT filename FROM Cache WHERE key = ?", (key,)).fetchone()
    (cache.cache_dir() / name).write_bytes(b"garbage")
    assert cache.lookup("train", SPEC) is None
    (folder,) = (cache.cache_dir() / "quarantine").iterdir()
    assert (folder / "value.val").read_bytes() == b"garbage"
    assert not (cache.cache_dir() / name).exists() and not (cache.cache_dir() / name).parent.exists()


def test_a_quarantine_link_leading_outside_is_refused_in_one_line(canary):
    """A real process meets an unreadable entry while ``quarantine`` links to a user's folder:
    nothing is written or chmodded there, one line names the link, the run still answers."""
    outside = canary.parent
    outside.chmod(0o755)
    plant("value", mode=codec.MODE_LAB, value=os.urandom(300), filename=None)
    link = cache.cache_dir() / "quarantine"
    link.symlink_to(outside)
    done = run_python(STORE, SPEC.seed)
    assert done.returncode == 0 and done.stdout.split() == ["False", "70000"], done.stderr
    assert done.stderr.splitlines() == [
        "warning: the result cache held a train result it cannot read (not a value in the lab's format); deleted it "
        f"without keeping a copy ({link} is a link (to {outside}) inside the result cache {cache.cache_dir()}, and "
        "the lab writes through no link inside its cache) and computing it again"]
    assert stat.S_IMODE(outside.stat().st_mode) == 0o755 and list(outside.iterdir()) == [canary]
    assert_untouched(canary)
    assert run_python(STORE, SPEC.seed).stdout.split() == ["True", "70000"]  # the recomputed result was stored


def test_value_folders_linked_outside_are_refused_and_nothing_piles_up_there(canary):
    """Every value folder name (``00`` … ``ff``) links outside: each run computes, stores
    nothing, says so in one line, and writes nothing outside; a repeat does the same."""
    outside = canary.parent
    cache.open_cache()
    for i in range(256):
        (cache.cache_dir() / f"{i:02x}").symlink_to(outside)
    for _ in range(2):
        done = run_python(STORE, SPEC.seed)
        assert done.returncode == 0 and done.stdout.split() == ["False", "70000"], done.stderr
        (line,) = done.stderr.splitlines()
        assert line.startswith(f"notice: cannot store results in the result cache {cache.cache_dir()}: "
                               f"{cache.cache_dir()}/") and f" is a link (to {outside}) inside the result cache" in line
        assert line.endswith("(remove the link, or set QML_LAB_CACHE to another directory, to keep new ones)")
        assert list(outside.iterdir()) == [canary]
    assert_untouched(canary)


def test_the_quarantine_is_capped_oldest_first_with_one_line(monkeypatch, capsys):
    """A re-planted 0.8 MiB row under a 2 MiB cap: the quarantine holds 0.8, 1.6, then stays at
    1.6 MiB (the oldest entry removed each time, one note line); a count cap of 1 keeps the newest."""
    monkeypatch.setattr(quarantine, "MAX_BYTES", 2 * 2 ** 20)
    root = cache.cache_dir() / "quarantine"
    held, notes = [], []
    for _ in range(4):
        plant("value", mode=codec.MODE_LAB, value=os.urandom(800 * 1024), filename=None)
        assert cache.lookup("train", SPEC) is None
        held.append(sum(f.stat().st_size for f in root.rglob("*") if f.is_file()) // (100 * 1024))
        notes += [line for line in capsys.readouterr().err.splitlines() if line.startswith("note:")]
    assert held == [8, 16, 16, 16]  # in units of 100 kiB
    assert notes == [f"note: the quarantine {root} keeps at most 50 entries and 2 MiB; removed the 1 oldest (0.8 MiB)"] * 2
    newest = max(root.iterdir())
    monkeypatch.setattr(quarantine, "MAX_ENTRIES", 1)
    plant("value", mode=codec.MODE_LAB, value=b"x", filename=None)
    assert cache.lookup("train", SPEC) is None
    assert len(list(root.iterdir())) == 1 and max(root.iterdir()) > newest
