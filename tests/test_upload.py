"""Your own data: every malformed upload is refused with a message naming the problem; a valid
CSV or .npz is stored by digest, split, amplitude-encoded and trains both models (also via the CLI)."""
import io
import json
import pickle
import re
import zipfile

import numpy as np
import pytest

from qml_core.cli.main import main
from qml_core.data.datasets import load_dataset
from qml_core.data.upload import MAX_BYTES, UploadError, load_upload, parse_upload, save_upload, upload_path
from qml_core.experiments.experiment import train_experiment
from qml_core.specs import MLPModel, QNNModel, SpecError, Training, UploadData, preset


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    """Uploads go to a private data directory per test."""
    monkeypatch.setenv("QML_LAB_DATA", str(tmp_path / "data"))
    return tmp_path / "data"


def easy_data(per_class: int = 30, features: int = 6, seed: int = 1):
    """Two classes that point in different directions (mass on even vs odd features)."""
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1], per_class)
    x = 0.3 * rng.random((2 * per_class, features))
    x[y == 0, 0::2] += 1.0
    x[y == 1, 1::2] += 1.0
    return x, y


def npz_bytes(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def csv_bytes(x, labels, header: bool = True, delimiter: str = ",") -> bytes:
    rows = [delimiter.join([*(repr(float(v)) for v in row), str(label)]) for row, label in zip(x, labels)]
    names = [delimiter.join([*(f"f{i}" for i in range(x.shape[1])), "label"])] if header else []
    return ("\n".join(names + rows) + "\n").encode()


def zip_bomb() -> bytes:
    """A 200 kB .npz whose x.npy unpacks to 200 MB of zeros."""
    buffer, chunk = io.BytesIO(), bytes(2 ** 20)
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("x.npy", "w", force_zip64=True) as member:
            for _ in range(200):
                member.write(chunk)
        archive.writestr("y.npy", b"\0")
    return buffer.getvalue()


X, Y = easy_data()
GOOD_CSV = csv_bytes(X, Y)
with_nan = X.copy()
with_nan[4, 2] = np.nan
with_zero_row = X.copy()
with_zero_row[7] = 0.0


MALFORMED_IDS = ["3d-features", "1d-features", "row-mismatch", "nan-npz", "nan-csv", "one-class", "three-classes",
                 "few-per-class", "object-array", "pickle-not-zip", "missing-key", "zip-bomb", "complex", "zero-row",
                 "too-many-features", "too-large", "empty", "header-only", "non-numeric-csv", "ragged-csv", "not-utf8",
                 "wrong-extension"]


@pytest.mark.parametrize("filename,content,needle", [
    ("d.npz", npz_bytes(x=X.reshape(60, 3, 2), y=Y), r"2-D array \(samples, features\), got shape \(60, 3, 2\)"),
    ("d.npz", npz_bytes(x=X[:, 0], y=Y), r"2-D array .*got shape \(60,\)"),
    ("d.npz", npz_bytes(x=X, y=Y[:-1]), "60 samples but 59 labels"),
    ("d.npz", npz_bytes(x=with_nan, y=Y), r"sample 5 has a non-finite feature \(NaN or inf\)"),
    ("d.csv", csv_bytes(with_nan, Y), r"sample 5 has a non-finite feature \(NaN or inf\)"),
    ("d.npz", npz_bytes(x=X, y=np.zeros(60)), "exactly two values, found 1: 0"),
    ("d.npz", npz_bytes(x=X, y=np.arange(60) % 3), "exactly two values, found 3"),
    ("d.npz", npz_bytes(x=X[:34], y=Y[:34]), "class 1 has 4 sample.*at least 5"),
    ("d.npz", npz_bytes(x=np.array([{"a": 1}] * 60, dtype=object), y=Y), "object array .*pickled"),
    ("d.npz", pickle.dumps({"x": X, "y": Y}), "not a zip archive"),
    ("d.npz", npz_bytes(features=X, y=Y), r"needs arrays 'x' .*missing \['x'\], found \['features', 'y'\]"),
    ("d.npz", zip_bomb(), r"x.npy in the .npz unpacks to 200.0 MB; the limit is"),
    ("d.npz", npz_bytes(x=X + 1j, y=Y), "real numbers, got complex"),
    ("d.npz", npz_bytes(x=with_zero_row, y=Y), "sample 8 is all zeros; amplitude encoding needs a nonzero"),
    ("d.npz", npz_bytes(x=np.ones((60, 4097)), y=Y), r"4097 features; allowed 2..4096 \(at most 12 qubits"),
    ("d.csv", b"0" * (MAX_BYTES + 1), "the file is 20.0 MB; the limit is 20.0 MB"),
    ("d.csv", b"", "the file is empty"),
    ("d.csv", b"f1,f2,label\n", "header but no data rows"),
    ("d.csv", GOOD_CSV + b"0.5,abc,1,2,3,4,1\n", "could not be read as numbers: could not convert string 'abc'"),
    ("d.csv", GOOD_CSV + b"0.5,1\n", "could not be read as numbers"),
    ("d.csv", b"\xff\xfe" + bytes(range(200)), "not UTF-8 text"),
    ("d.xlsx", GOOD_CSV, r"must be a .csv or .npz, got 'd.xlsx'"),
], ids=MALFORMED_IDS)
def test_malformed_upload_gets_one_clear_line(filename, content, needle, data_dir):
    with pytest.raises(UploadError, match=needle) as info:
        save_upload(filename, content)
    assert "\n" not in str(info.value) and isinstance(info.value, SpecError)
    assert not (data_dir / "uploads").exists() or not any((data_dir / "uploads").iterdir())


def test_csv_layouts_give_the_same_arrays():
    x, y, classes = parse_upload("d.csv", GOOD_CSV)
    assert x.shape == (60, 6) and classes == (0, 1) and np.array_equal(y, Y) and np.allclose(x, X)
    no_header = parse_upload("d.csv", csv_bytes(X, Y, header=False, delimiter=";"))
    assert np.array_equal(no_header[0], x) and no_header[2] == (0, 1)
    words = np.where(Y == 1, "yes", "no")
    label_first = "label\tf0\tf1\n" + "".join(f"{w}\t{a!r}\t{b!r}\n" for w, a, b in zip(words, X[:, 0].tolist(), X[:, 1].tolist()))
    x2, y2, classes2 = parse_upload("D.CSV", label_first.encode())
    assert classes2 == ("no", "yes") and np.array_equal(y2, Y) and np.allclose(x2, X[:, :2])


def test_store_is_content_addressed_private_and_checked(data_dir):
    digest = save_upload("mine.csv", GOOD_CSV)
    assert save_upload("mine.npz", npz_bytes(x=X, y=Y)) == digest  # same arrays, same identity
    path = upload_path(digest)
    assert path == data_dir / "uploads" / f"{digest}.npz" and oct((data_dir / "uploads").stat().st_mode & 0o777) == "0o700"
    x, y, names = load_upload(digest)
    assert np.array_equal(y, Y) and np.allclose(x, X) and names == ("0", "1")
    path.write_bytes(npz_bytes(x=X * 2, y=Y, classes=np.array(["0", "1"])))
    with pytest.raises(UploadError, match="no longer matches its digest; upload it again"):
        load_upload(digest)


def test_unknown_or_malformed_digest_is_refused():
    with pytest.raises(UploadError, match=f"no uploaded dataset with digest {'a' * 64}; upload it again"):
        load_dataset(UploadData("a" * 64))
    with pytest.raises(SpecError, match="digest must be 64 lowercase hex"):
        UploadData("../../etc/passwd")
    with pytest.raises(SpecError, match="dataset upload needs the digest"):
        preset("quick", "upload", "qnn")


def test_dataset_is_split_stratified_and_amplitude_encoded():
    data = load_dataset(UploadData(save_upload("d.npz", npz_bytes(x=X, y=Y)), val_fraction=0.3))
    assert data.x_train.shape == (42, 8) and data.x_val.shape == (18, 8)  # 6 features padded to 8 = 3 qubits
    assert np.bincount(data.y_val).tolist() == [9, 9]
    assert np.allclose(np.linalg.norm(data.x_train, axis=1), 1.0) and np.all(data.x_train[:, 6:] == 0)
    again = load_dataset(UploadData(save_upload("d.npz", npz_bytes(x=X, y=Y)), val_fraction=0.3))
    assert np.array_equal(again.x_val, data.x_val)  # the split is fixed, not drawn per run
    two = load_dataset(UploadData(save_upload("d.npz", npz_bytes(x=X[:, :2], y=Y))))
    assert two.width == 4  # at least 2 qubits for the QNN


@pytest.mark.parametrize("model,training,fmt", [
    (QNNModel(depth=1), Training(4, 8, 0.1), "csv"),
    (MLPModel(hidden=(8,)), Training(5, 8, 0.05), "npz"),
])
def test_valid_upload_trains(model, training, fmt):
    content = GOOD_CSV if fmt == "csv" else npz_bytes(x=X, y=Y)
    spec = preset("quick", "upload", model.name, digest=save_upload(f"d.{fmt}", content))
    assert spec.model.name == model.name and spec.data.val_fraction == 0.3
    result = train_experiment(spec.replace(model=model, training=training, seed=2))
    assert result["val_acc"] >= 0.9 and result["train_acc"] >= 0.9


def test_cli_trains_and_sweeps_on_a_data_file(tmp_path, capsys):
    path = tmp_path / "easy.csv"
    path.write_bytes(GOOD_CSV)
    tiny = ["--model", "mlp", "--hidden", "8", "--epochs", "5", "--batch-size", "8", "--lr", "0.05"]
    assert main(["train", "--data-file", str(path), "--preset", "quick", *tiny, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["val_acc"] >= 0.9
    out = tmp_path / "rows.csv"
    assert main(["sweep", "--data-file", str(path), "--models", "mlp", "--hidden", "8", "--epochs", "2",
                 "--alphas", "0.0,0.2", "--runs", "1", "--jobs", "1", "--quiet", "--out", str(out)]) == 0
    assert "2 runs" in capsys.readouterr().out and out.read_text().count("upload") == 2


@pytest.mark.parametrize("args,needle", [
    (["--data-file", "missing.csv"], "--data-file 'missing.csv': no such file"),
    (["--dataset", "upload"], "--dataset upload needs --data-file PATH"),
    (["--dataset", "xxz", "--data-file", "{bad}"], "--data-file applies to --dataset upload, not xxz"),
    (["--data-file", "{bad}"], "exactly two values, found 1"),
    (["--data-file", "{good}", "--digits", "1,9"], "--digits does not apply to dataset upload"),
    (["--data-file", "{good}", "--val-fraction", "0.9"], r"val_fraction must be a number in \[0.1, 0.5\]"),
])
def test_cli_upload_errors_are_one_line(args, needle, tmp_path, capsys):
    (tmp_path / "bad.npz").write_bytes(npz_bytes(x=X, y=np.ones(60)))
    (tmp_path / "good.csv").write_bytes(GOOD_CSV)
    files = {"bad": tmp_path / "bad.npz", "good": tmp_path / "good.csv"}
    assert main(["train", *(a.format(**files) for a in args)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ")
    assert re.search(needle, err[0]), err[0]
