"""Your own data: parse, validate and store an uploaded CSV or ``.npz`` of features and binary labels.

An upload is known only by the SHA-256 of its validated arrays (its *digest*) and stored as
``<data dir>/uploads/<digest>.npz`` (data dir: ``$QML_LAB_DATA``, default
``~/.cache/qml_lab/data``). Specs and the UI carry the digest, never a file path, so nothing a
user types reaches the file system. ``datasets.load_dataset`` splits and amplitude-encodes it.

Example::

    digest = save_upload("blobs.csv", b"f1,f2,label\\n0.9,0.1,a\\n...")
    spec = preset("quick", "upload", "qnn", digest=digest)
"""
import csv
import errno
import hashlib
import io
import os
import pathlib
import re
import stat
import tempfile
import warnings
import zipfile

import numpy as np

from qml_core.specs import SpecError, UploadData

MAX_BYTES = 20 * 2 ** 20  # the upload itself
MAX_ROWS = 100_000
MAX_VALUES = 20_000_000  # rows x features (160 MB as float64); also bounds what an .npz may unpack to
MIN_FEATURES, MAX_FEATURES = 2, 4096  # 4096 amplitudes = 12 qubits
MIN_PER_CLASS = 5  # enough for a stratified split and for poisoning half from each class
LABEL_COLUMNS = ("label", "y")
FORMAT_TAG = b"qml-lab-upload-v1"


class UploadError(SpecError):
    """An upload that cannot be used; the message names the problem and what is allowed."""


def require(ok: bool, message: str) -> None:
    if not ok:
        raise UploadError(message)


def megabytes(n: int) -> str:
    return f"{n / 2 ** 20:.1f} MB"


def parse_upload(filename: str, content: bytes) -> tuple[np.ndarray, np.ndarray, tuple]:
    """Validate an uploaded file and return (x (n, f) float64, y (n,) int64 in {0, 1}, classes).

    ``filename`` only selects the format by its extension (.csv or .npz). CSV: numbers
    separated by commas, semicolons or tabs, one sample per row; the label is the column named
    ``label`` or ``y`` in an optional header, else the last column; labels may be numbers or
    words. NPZ: arrays ``x`` (n, f) and ``y`` (n,), read without unpickling. ``classes`` are
    the two original label values, sorted: label 0 is ``classes[0]``. Raises UploadError.
    """
    require(isinstance(content, (bytes, bytearray, memoryview)), "the upload must be bytes")
    require(len(content) <= MAX_BYTES, f"the file is {megabytes(len(content))}; the limit is {megabytes(MAX_BYTES)}")
    require(len(content) > 0, "the file is empty")
    suffix = pathlib.PurePath(str(filename)).suffix.lower()
    if suffix == ".csv":
        x, labels = read_csv(bytes(content))
    elif suffix == ".npz":
        x, labels = read_npz(bytes(content))
    else:
        raise UploadError(f"the file must be a .csv or .npz, got {str(filename)!r}")
    return validate(x, labels)


def is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_csv(content: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Features and raw labels of a CSV (see ``parse_upload``); numpy parses the body."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UploadError(f"the CSV is not UTF-8 text (byte {exc.start}); export it as plain CSV") from None
    require("\0" not in text, "the CSV contains NUL bytes; is it a binary file? Export it as plain CSV")
    lines = ((i, line) for i, line in enumerate(io.StringIO(text)) if line.strip() and not line.lstrip().startswith("#"))
    (start, line), after = next(lines, (None, None)), next(lines, (None, None))[1]
    require(line is not None, "the CSV has no rows")
    check_decimal_commas(line, after)
    delimiter = max(",;\t", key=line.count)
    first, second = ([c.strip() for c in next(csv.reader([row], delimiter=delimiter))] if row else None
                     for row in (line, after))
    header = any(c.lower() in LABEL_COLUMNS for c in first) or (
        any(not is_number(c) for c in first[:-1]) if second is None
        else any(not is_number(a) and is_number(b) for a, b in zip(first, second)))
    n_rows = sum(1 for _ in lines) + 2 - header - (second is None)
    require(n_rows > 0, "the CSV has a header but no data rows")
    require(n_rows <= MAX_ROWS, f"the CSV has {n_rows} rows; the limit is {MAX_ROWS}")
    names = [c.lower() for c in first] if header else []
    label_col = next((names.index(n) for n in LABEL_COLUMNS if n in names), len(first) - 1)
    require(len(first) >= 3, f"the CSV needs at least {MIN_FEATURES} feature columns and a label column, "
                             f"found {len(first)} column(s) (separator {delimiter!r})")
    features = [i for i in range(len(first)) if i != label_col]
    options = dict(delimiter=delimiter, skiprows=start + 1 if header else 0, quotechar='"', comments="#")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # numpy's note on blank/comment lines in chunked reads
            x = np.loadtxt(io.StringIO(text), usecols=features, dtype=np.float64, ndmin=2, **options)
            labels = np.char.strip(np.loadtxt(io.StringIO(text), usecols=[label_col], dtype=str, ndmin=1, **options))
    except ValueError as exc:
        raise UploadError(f"the CSV could not be read as numbers: {str(exc).split(';')[0].rstrip('.')}; "
                          "every row needs the same columns and numeric features") from None
    if all(is_number(v) for v in labels):
        labels = labels.astype(np.float64)
    return x, labels


DECIMAL_COMMA = re.compile(r"^\s*[-+]?\d+,\d+(?:[eE][-+]?\d+)?\s*$")  # '0,5' or '-1,25e-3'


def check_decimal_commas(first: str, second: str | None) -> None:
    """Refuse a CSV written with decimal commas (a European export: '0,5;1,2;a'), which would
    otherwise fail with a garbled number, or be split at the decimal commas. Seen as a line
    with semicolons or tabs whose fields include a number with a decimal comma."""
    for line in (first, second):
        if line is None:
            continue
        fields = re.split(r"[;\t]", line.strip())
        comma = next((f.strip() for f in fields if DECIMAL_COMMA.match(f)), None)
        if len(fields) > 1 and comma is not None:
            raise UploadError(f"the CSV uses decimal commas ({comma!r}); save it with decimal points "
                              "(e.g. 0.5), or replace ',' by '.' in the numbers")


def read_npz(content: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Arrays ``x`` and ``y`` of an .npz, never unpickled, never unpacked beyond the limits."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            sizes = {info.filename: info.file_size for info in archive.infolist()}
    except (zipfile.BadZipFile, ValueError, OSError):
        raise UploadError("the .npz is not a zip archive; save it with numpy.savez(file, x=..., y=...)") from None
    limit = MAX_VALUES * 8 + 2 ** 16
    for name, size in sizes.items():
        require(size <= limit, f"{name} in the .npz unpacks to {megabytes(size)}; the limit is {megabytes(limit)}")
    try:
        with np.load(io.BytesIO(content), allow_pickle=False) as archive:
            missing = [k for k in ("x", "y") if k not in archive.files]
            require(not missing, f"the .npz needs arrays 'x' (features) and 'y' (labels); missing {missing}, "
                                 f"found {sorted(archive.files)}")
            return np.asarray(archive["x"]), np.asarray(archive["y"])
    except UploadError:
        raise
    except ValueError as exc:
        if "pickle" in str(exc).lower() or "object arrays" in str(exc).lower():
            raise UploadError("the .npz holds an object array (pickled Python objects), which is never loaded; "
                              "save plain numeric arrays x and y") from None
        raise UploadError(f"the .npz could not be read: {exc}") from None
    except Exception as exc:  # untrusted bytes: a corrupt member can fail in zlib, zipfile or numpy
        raise UploadError(f"the .npz could not be read: {type(exc).__name__}: {exc}") from None


def validate(x, labels) -> tuple[np.ndarray, np.ndarray, tuple]:
    """Check features and labels (see ``parse_upload``) and map the labels to 0/1."""
    x, labels = np.asarray(x), np.asarray(labels)
    require(x.dtype.kind != "c", "features must be real numbers, got complex values")
    require(x.dtype.kind in "biuf", f"features must be numbers, got dtype {x.dtype}")
    require(x.ndim == 2, f"features must be a 2-D array (samples, features), got shape {x.shape}"
            + ("; flatten each sample, e.g. x.reshape(len(x), -1)" if x.ndim > 2 else ""))
    n, width = x.shape
    require(n > 0, "the data has no samples")
    require(n <= MAX_ROWS, f"the data has {n} samples; the limit is {MAX_ROWS}")
    require(MIN_FEATURES <= width <= MAX_FEATURES,
            f"the data has {width} features; allowed {MIN_FEATURES}..{MAX_FEATURES} "
            f"(at most 12 qubits after padding to a power of two)")
    require(x.size <= MAX_VALUES, f"the data has {x.size} values (samples x features); the limit is {MAX_VALUES}")
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    require(labels.ndim == 1, f"labels must be a 1-D array (one per sample), got shape {labels.shape}")
    require(len(labels) == n, f"there are {n} samples but {len(labels)} labels")
    require(labels.dtype.kind in "biufUS", f"labels must be numbers or words, got dtype {labels.dtype}")
    x = x.astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(x).all(axis=1))
    if len(bad):
        raise UploadError(f"sample {bad[0] + 1} has a non-finite feature (NaN or inf); all features must be "
                          f"finite ({len(bad)} sample(s) affected)")
    zero = np.flatnonzero(~(x != 0).any(axis=1))
    if len(zero):
        raise UploadError(f"sample {zero[0] + 1} is all zeros; amplitude encoding needs a nonzero feature vector "
                          f"({len(zero)} such sample(s))")
    if labels.dtype.kind == "f":
        require(np.isfinite(labels).all(), "labels must be finite, found NaN or inf")
    classes, y, counts = np.unique(labels, return_inverse=True, return_counts=True)
    require(len(classes) == 2, f"labels must take exactly two values, found {len(classes)}: "
                               f"{', '.join(repr(plain(c)) for c in classes[:5])}{' ...' if len(classes) > 5 else ''}")
    for value, count in zip(classes, counts):
        require(count >= MIN_PER_CLASS,
                f"class {plain(value)!r} has {count} sample(s); each class needs at least {MIN_PER_CLASS}")
    return x, y.reshape(-1).astype(np.int64), tuple(plain(c) for c in classes)


def plain(value):
    """A label value as a plain Python int, float or str (ints for integral numbers)."""
    value = value.item() if isinstance(value, np.generic) else value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def array_digest(x: np.ndarray, y: np.ndarray, classes: tuple) -> str:
    """SHA-256 of the validated arrays and class names: the upload's only identity."""
    digest = hashlib.sha256(FORMAT_TAG)
    digest.update(repr((x.shape, tuple(str(c) for c in classes))).encode())
    digest.update(np.ascontiguousarray(x, dtype="<f8").tobytes())
    digest.update(np.ascontiguousarray(y, dtype="<i8").tobytes())
    return digest.hexdigest()


def uploads_dir() -> pathlib.Path:
    """``uploads/`` in the data directory the XXZ states use, created private to the user
    (it and any parent it creates are 0o700); a directory others can write is refused
    (``cache.private_dirs``)."""
    from qml_core.data.xxz import default_cache_dir
    from qml_core.store.cache import private_dirs

    return private_dirs(default_cache_dir() / "uploads", "QML_LAB_DATA")


def upload_path(digest: str) -> pathlib.Path:
    """The stored file of a digest (validated first, so only 64 hex characters reach the path)."""
    return uploads_dir() / f"{UploadData(digest=digest).digest}.npz"


def save_upload(filename: str, content: bytes) -> str:
    """Validate an upload (``parse_upload``), store its arrays and return their digest.

    Idempotent: the same data gives the same digest and is stored once. The file is written
    to a temporary name and renamed, so a reader never sees half of it.
    """
    x, y, classes = parse_upload(filename, content)
    digest = array_digest(x, y, classes)
    path = upload_path(digest)
    if not path.exists():
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, x=x, y=y, classes=np.array([str(c) for c in classes]))
            os.replace(tmp, path)
        except BaseException:
            pathlib.Path(tmp).unlink(missing_ok=True)
            raise
    return digest


def save_upload_file(path) -> str:
    """``save_upload`` for a file on disk (the CLI's ``--data-file``). Opened without blocking
    (a FIFO would wait for a writer forever) and checked to be a regular file of at most
    MAX_BYTES before it is read; each other case gets its own message."""
    path = pathlib.Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        reasons = {errno.ENOENT: "no such file", errno.ELOOP: "a symbolic link loop (too many levels of links)",
                   errno.EACCES: "permission denied", errno.ENOTDIR: "a parent in the path is not a directory"}
        raise UploadError(f"--data-file {str(path)!r}: {reasons.get(exc.errno, exc.strerror)}; "
                          "name a .csv or .npz file") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = "a directory" if stat.S_ISDIR(info.st_mode) else "a FIFO (named pipe)" \
                if stat.S_ISFIFO(info.st_mode) else "not a regular file"
            raise UploadError(f"--data-file {str(path)!r} is {kind}; name a .csv or .npz file")
        require(info.st_size <= MAX_BYTES, f"{path.name} is {megabytes(info.st_size)}; the limit is {megabytes(MAX_BYTES)}")
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb", closefd=False) as f:
            content = f.read(MAX_BYTES + 1)
    finally:
        os.close(fd)
    return save_upload(path.name, content)


def missing(digest: str) -> UploadError:
    return UploadError(f"no uploaded dataset with digest {digest}; upload it again")


def load_upload(digest: str) -> tuple[np.ndarray, np.ndarray, tuple[str, str]]:
    """The stored (x (n, f) float64, y (n,) int64, class names) of a digest; the content is
    checked against the digest, so a damaged file is refused rather than trained on."""
    path = upload_path(digest)
    if not path.exists():
        raise missing(digest)
    try:
        with np.load(path, allow_pickle=False) as f:
            x, y, names = f["x"], f["y"], tuple(str(c) for c in f["classes"])
    except Exception:
        raise UploadError(f"the stored upload {digest} is unreadable; upload it again") from None
    if array_digest(x, y, names) != digest:
        raise UploadError(f"the stored upload {digest} no longer matches its digest; upload it again")
    return x, y, names


def upload_shape(digest: str) -> tuple[int, int]:
    """(samples, features) of a stored upload, read from the array header alone."""
    path = upload_path(digest)
    if not path.exists():
        raise missing(digest)
    try:
        with zipfile.ZipFile(path) as archive, archive.open("x.npy") as f:
            version = np.lib.format.read_magic(f)
            read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape = read(f)[0]
    except Exception:
        raise UploadError(f"the stored upload {digest} is unreadable; upload it again") from None
    return int(shape[0]), int(shape[1])
