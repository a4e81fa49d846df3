"""MNIST's IDX files and CIFAR-10's batches, written here in their exact formats (a few
records each, plain, gzipped and in a .tar.gz), read back; broken and hostile files refused.

The real data sets are never needed: the formats are small enough to write by hand.
"""

import gzip
import io
import os
import pickle
import struct
import tarfile
import tracemalloc

import numpy as np
import pytest

from autograd import data
from autograd.data import DataFileError, load_cifar10, load_mnist
from autograd.data.files import read_idx

RNG = np.random.default_rng(0)


# --- writers of the formats -------------------------------------------------------------

def idx_bytes(array, type_code=0x08):
    """IDX: 00 00, type code, number of dimensions, each size big-endian, then the values."""
    array = np.asarray(array)
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write(path, blob, gz=False):
    path.write_bytes(gzip.compress(blob) if gz else blob)
    return path


def mnist_folder(folder, n_train=6, n_test=4, gz=False, names=None):
    """The four files of a tiny MNIST; returns {split: (pixels uint8, labels uint8)}."""
    folder.mkdir(exist_ok=True)
    sets = {}
    for split, n, (image_name, label_name) in (("train", n_train, names or data.mnist.MNIST_FILES["train"]),
                                                ("test", n_test, data.mnist.MNIST_FILES["test"])):
        pixels = RNG.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = RNG.integers(0, 10, size=n, dtype=np.uint8)
        suffix = ".gz" if gz else ""
        write(folder / (image_name + suffix), idx_bytes(pixels), gz)
        write(folder / (label_name + suffix), idx_bytes(labels), gz)
        sets[split] = pixels, labels
    return sets


def cifar_records(labels, pixels):
    """CIFAR-10 binary: per image one label byte, then 1,024 red, 1,024 green, 1,024 blue bytes."""
    return b"".join(bytes([label]) + image.tobytes() for label, image in zip(labels, pixels))


def cifar_batches(n=3):
    """{batch name: (labels, uint8 images (n, 3, 32, 32))} for the six batches."""
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    return {name: (RNG.integers(0, 10, size=n, dtype=np.uint8),
                   RNG.integers(0, 256, size=(n, 3, 32, 32), dtype=np.uint8)) for name in names}


def cifar_binary_folder(folder, batches):
    folder.mkdir(parents=True, exist_ok=True)
    for name, (labels, pixels) in batches.items():
        (folder / f"{name}.bin").write_bytes(cifar_records(labels, pixels))
    (folder / "batches.meta.txt").write_text("\n".join(data.CIFAR10_CLASSES) + "\n")
    return folder


def tar_gz(path, members):
    """A .tar.gz of {name: bytes} (or {name: tarfile.TarInfo} for special members)."""
    with tarfile.open(path, "w:gz") as archive:
        for name, content in members.items():
            if isinstance(content, tarfile.TarInfo):
                archive.addfile(content)
                continue
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return path


def expected(batches, names):
    labels = np.concatenate([batches[n][0] for n in names]).astype(np.int64)
    images = np.concatenate([batches[n][1] for n in names]).astype(np.float32) / 255
    return images, labels


TRAIN = [f"data_batch_{i}" for i in range(1, 6)]


def python2_pickle(labels, rows):
    """A batch as Python 2's cPickle writes it (protocol 2, str for bytes), as the real files are."""
    def string(b):
        return (b"U" + bytes([len(b)]) + b) if len(b) < 256 else (b"T" + struct.pack("<i", len(b)) + b)
    n, width = rows.shape
    array = (b"cnumpy.core.multiarray\n_reconstruct\nq\x02cnumpy\nndarray\nq\x03K\x00\x85U\x01b\x87R"
             b"(K\x01M" + struct.pack("<H", n) + b"M" + struct.pack("<H", width) + b"\x86"
             b"cnumpy\ndtype\nU\x02u1K\x00K\x01\x87R(K\x03U\x01|NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
             b"\x89" + string(rows.tobytes()) + b"tb")
    labels_list = b"](" + b"".join(b"K" + bytes([int(v)]) for v in labels) + b"e"
    return (b"\x80\x02}(" + string(b"batch_label") + string(b"training batch 1 of 5")
            + string(b"labels") + labels_list + string(b"data") + array + b"u.")


# --- MNIST ------------------------------------------------------------------------------

@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzipped"])
def test_mnist_idx_files_read_back_as_images_and_labels(tmp_path, gz):
    sets = mnist_folder(tmp_path / "mnist", gz=gz)
    for split in ("train", "test"):
        images, labels = load_mnist(tmp_path / "mnist", split=split)
        pixels, digits = sets[split]
        assert images.shape == (len(digits), 1, 28, 28) and images.dtype == np.float32
        assert labels.dtype == np.int64
        np.testing.assert_array_equal(labels, digits)
        np.testing.assert_array_equal(images[:, 0], pixels.astype(np.float32) / 255)


def test_mnist_dotted_names_and_the_default_split_is_train(tmp_path):
    sets = mnist_folder(tmp_path, names=("train-images.idx3-ubyte", "train-labels.idx1-ubyte"))
    images, labels = load_mnist(str(tmp_path))
    np.testing.assert_array_equal(labels, sets["train"][1])


def test_read_idx_other_types_and_big_endian(tmp_path):
    values = np.array([[1.5, -2.0, 3.25], [0.0, 1e6, -7.0]], dtype=np.float32)
    read = read_idx(write(tmp_path / "f.idx", idx_bytes(values, 0x0D)))
    assert read.dtype == np.float32 and read.dtype.isnative
    np.testing.assert_array_equal(read, values)
    ints = np.array([1, -300, 70000], dtype=np.int32)
    np.testing.assert_array_equal(read_idx(write(tmp_path / "i.idx", idx_bytes(ints, 0x0C))), ints)


def bad(tmp_path, blob, gz=False, name="train-images-idx3-ubyte"):
    """A folder whose train images file holds ``blob`` (the labels are fine)."""
    mnist_folder(tmp_path)
    (tmp_path / name).unlink()
    write(tmp_path / (name + (".gz" if gz else "")), blob, gz)
    return tmp_path


PIXELS = idx_bytes(np.zeros((6, 28, 28), dtype=np.uint8))


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzipped"])
@pytest.mark.parametrize("blob, message", [
    (b"", "not an IDX file: .* found an empty file"),
    (b"\x89PNG\r\n\x1a\n" + bytes(100), "not an IDX file: .* found a file starting with 89 50 4e 47"),
    (PIXELS[:10], r"truncated IDX header: .* 3 dimensions \(12 bytes of sizes\), the file holds 6"),
    (PIXELS[:-1], r"truncated: the IDX header announces values of shape \(6, 28, 28\) \(4,704 bytes"),
    (PIXELS + b"\0", r"longer than its header says: .*\(6, 28, 28\) \(4,704 bytes after the header\)"),
    (idx_bytes(np.zeros(6, dtype=np.uint8)), r"holds uint8 values of shape \(6,\); MNIST images"),
    (idx_bytes(np.zeros((6, 28, 28), dtype=np.float32), 0x0D), "holds float32 values"),
])
def test_broken_idx_files_are_data_file_errors_naming_the_file(tmp_path, gz, blob, message):
    folder = bad(tmp_path, blob, gz)
    with pytest.raises(DataFileError, match=message) as info:
        load_mnist(folder)
    assert "train-images-idx3-ubyte" in str(info.value)


def test_labels_that_do_not_match_the_images(tmp_path):
    folder = bad(tmp_path, idx_bytes(np.zeros(5, dtype=np.uint8)), name="train-labels-idx1-ubyte")
    with pytest.raises(DataFileError, match="holds 6 images but .*train-labels-idx1-ubyte holds 5"):
        load_mnist(folder)
    folder = bad(tmp_path, idx_bytes(np.array([1, 2, 3, 42, 5, 6], dtype=np.uint8)),
                 name="train-labels-idx1-ubyte")
    with pytest.raises(DataFileError, match="label 42 at position 3 is not a digit 0-9"):
        load_mnist(folder)


def test_a_header_claiming_more_than_the_file_allocates_nothing(tmp_path):
    """The header claims 60,000 images (47 MB), the file holds 100 bytes: refused, with little memory."""
    lying = bytes([0, 0, 8, 3]) + struct.pack(">3I", 60000, 28, 28) + bytes(100)
    for gz in (False, True):
        folder = bad(tmp_path, lying, gz)
        tracemalloc.start()
        try:
            with pytest.raises(DataFileError, match=r"truncated: .*\(60000, 28, 28\) \(47,040,000 bytes"):
                load_mnist(folder)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 2_000_000, f"{peak:,} bytes allocated for a 100-byte file (gz={gz})"
        (folder / ("train-images-idx3-ubyte" + (".gz" if gz else ""))).unlink()


def test_a_gzip_bomb_is_read_only_as_far_as_the_header_claims(tmp_path):
    """20 MB of zeros compress to 20 kB; the header claims 10 images: reading stops after 7,841 bytes."""
    bomb = PIXELS[:16] + bytes(20_000_000)
    folder = bad(tmp_path, bomb, gz=True)
    tracemalloc.start()
    try:
        with pytest.raises(DataFileError, match=r"longer than its header says: .* holds 4,705 or more"):
            load_mnist(folder)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000


def test_a_header_claiming_more_than_the_cap_is_refused_before_reading(tmp_path):
    huge = bytes([0, 0, 8, 3]) + struct.pack(">3I", 4_000_000_000, 4_000_000_000, 28)
    with pytest.raises(DataFileError, match=r"announces values of shape \(4000000000, 4000000000, 28\) "
                                            r"\(448,000,000,000,000,000,000 bytes\), more than"):
        load_mnist(bad(tmp_path, huge, gz=True))


def test_damaged_gzip_data(tmp_path):
    packed = bytearray(gzip.compress(PIXELS))
    packed[len(packed) // 2] ^= 0xFF
    folder = bad(tmp_path, b"")
    (folder / "train-images-idx3-ubyte").write_bytes(bytes(packed))
    with pytest.raises(DataFileError, match="train-images-idx3-ubyte: .*gzip data is damaged"):
        load_mnist(folder)


def test_missing_mnist_files_and_folders(tmp_path):
    with pytest.raises(DataFileError, match=f"{tmp_path} has no train-images-idx3-ubyte .*"
                                            "t10k-labels-idx1-ubyte"):
        load_mnist(tmp_path)
    with pytest.raises(DataFileError, match="missing does not exist; give the folder"):
        load_mnist(tmp_path / "missing")
    (tmp_path / "file").write_bytes(b"x")
    with pytest.raises(DataFileError, match="file is a file, not a folder; give the folder"):
        load_mnist(tmp_path / "file")
    mnist_folder(tmp_path / "half")
    (tmp_path / "half" / "t10k-labels-idx1-ubyte").unlink()
    assert len(load_mnist(tmp_path / "half")[0]) == 6  # the train split does not need it
    with pytest.raises(DataFileError, match="has no t10k-labels-idx1-ubyte"):
        load_mnist(tmp_path / "half", split="test")
    with pytest.raises(ValueError, match="split must be 'train' or 'test', got 'validation'"):
        load_mnist(tmp_path, split="validation")


def test_data_file_error_is_a_value_error():
    assert issubclass(DataFileError, ValueError)


# --- CIFAR-10, binary version ---------------------------------------------------------------

def test_cifar10_binary_folder_reads_records_as_red_green_blue_planes(tmp_path):
    labels = np.array([3, 9], dtype=np.uint8)
    pixels = np.zeros((2, 3, 32, 32), dtype=np.uint8)
    pixels[0, 0, 0, 1] = 255   # image 0: red at row 0, column 1
    pixels[1, 2, 31, 0] = 51   # image 1: blue at row 31, column 0
    batches = {name: (labels, pixels) for name in TRAIN}
    folder = cifar_binary_folder(tmp_path / "cifar-10-batches-bin", batches)
    record = (folder / "data_batch_1.bin").read_bytes()[:3073]
    assert record[0] == 3 and record[1 + 1] == 255  # the layout as documented
    images, read_labels = load_cifar10(folder)
    assert images.shape == (10, 3, 32, 32) and images.dtype == np.float32
    assert read_labels.dtype == np.int64 and read_labels.tolist() == [3, 9] * 5
    assert images[0, 0, 0, 1] == 1.0 and images[1, 2, 31, 0] == pytest.approx(0.2)
    assert images.sum() == pytest.approx(5 * (1.0 + 0.2))
    assert data.CIFAR10_CLASSES[3] == "cat" and len(data.CIFAR10_CLASSES) == 10


def test_cifar10_folder_or_the_folder_it_unpacked_into_both_splits(tmp_path):
    batches = cifar_batches()
    cifar_binary_folder(tmp_path / "cifar-10-batches-bin", batches)
    for path in (tmp_path, tmp_path / "cifar-10-batches-bin"):
        for split, names in (("train", TRAIN), ("test", ["test_batch"])):
            images, labels = load_cifar10(path, split=split)
            want_images, want_labels = expected(batches, names)
            np.testing.assert_array_equal(labels, want_labels)
            np.testing.assert_array_equal(images, want_images)


def test_cifar10_tar_gz_as_downloaded_is_read_in_memory(tmp_path, monkeypatch):
    batches = cifar_batches()
    members = {f"cifar-10-batches-bin/{name}.bin": cifar_records(*batch) for name, batch in batches.items()}
    members["cifar-10-batches-bin/batches.meta.txt"] = b"airplane\n"
    archive = tar_gz(tmp_path / "cifar-10-binary.tar.gz", members)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    images, labels = load_cifar10(archive, split="test")
    np.testing.assert_array_equal(labels, expected(batches, ["test_batch"])[1])
    images, labels = load_cifar10(str(archive))
    np.testing.assert_array_equal(images, expected(batches, TRAIN)[0])
    assert sorted(os.listdir(tmp_path)) == ["cifar-10-binary.tar.gz", "work"]  # nothing unpacked
    assert os.listdir(work) == []


def test_cifar10_archive_ignores_links_folders_and_other_names(tmp_path):
    batches = cifar_batches()
    members = {f"cifar-10-batches-bin/{name}.bin": cifar_records(*batches[name]) for name in TRAIN[1:]}
    link = tarfile.TarInfo("cifar-10-batches-bin/data_batch_1.bin")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    members["link"] = link
    members["../../data_batch_1.bin"] = cifar_records(*batches["data_batch_1"])
    archive = tar_gz(tmp_path / "c.tar.gz", members)
    with pytest.raises(DataFileError, match=r"c.tar.gz: the archive lacks data_batch_1.bin of CIFAR-10's "
                                            "train set"):
        load_cifar10(archive)


@pytest.mark.parametrize("blob, message", [
    (b"", "data_batch_3.bin: empty; a CIFAR-10 batch holds records of 3,073 bytes"),
    (bytes(3073 * 2 - 5), r"data_batch_3.bin: 6,141 bytes is 1 whole records of 3,073 bytes .* and 3,068 "
                          "bytes over: the file is truncated"),
    (bytes([12]) + bytes(3072), "data_batch_3.bin: record 0 has the label byte 12, not a class 0-9"),
    (bytes(3073 * 10_001), r"data_batch_3.bin: 30,733,073 bytes, more than a CIFAR-10 binary batch holds"),
])
def test_broken_cifar10_batches(tmp_path, blob, message):
    folder = cifar_binary_folder(tmp_path, cifar_batches())
    (folder / "data_batch_3.bin").write_bytes(blob)
    with pytest.raises(DataFileError, match=message):
        load_cifar10(folder)
    archive = tar_gz(tmp_path / "a.tar.gz", {name: (folder / name).read_bytes()
                                             for name in os.listdir(folder) if name.endswith(".bin")})
    with pytest.raises(DataFileError, match=message):
        load_cifar10(archive)


def test_cifar10_half_the_batches_missing_files_and_wrong_paths(tmp_path):
    folder = cifar_binary_folder(tmp_path / "c", cifar_batches())
    for name in ("data_batch_4.bin", "data_batch_5.bin"):
        (folder / name).unlink()
    with pytest.raises(DataFileError, match=r"c lacks data_batch_4.bin, data_batch_5.bin of CIFAR-10's "
                                            "train set"):
        load_cifar10(folder)
    assert len(load_cifar10(folder, split="test")[0]) == 3
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataFileError, match=r"empty holds no CIFAR-10 train batches .*"
                                            "cifar-10-binary.tar.gz"):
        load_cifar10(tmp_path / "empty")
    with pytest.raises(DataFileError, match="nowhere: no such file or folder; download CIFAR-10's "
                                            "binary version"):
        load_cifar10(tmp_path / "nowhere")
    (tmp_path / "notes.txt").write_text("not an archive")
    with pytest.raises(DataFileError, match="notes.txt is neither a folder nor a .tar.gz archive"):
        load_cifar10(tmp_path / "notes.txt")
    whole = tar_gz(tmp_path / "t.tar.gz", {name + ".bin": cifar_records(*batch)
                                           for name, batch in cifar_batches().items()}).read_bytes()
    (tmp_path / "t.tar.gz").write_bytes(whole[:5000])  # an interrupted download, inside the first batch
    with pytest.raises(DataFileError, match="t.tar.gz: the archive is damaged .*download it again"):
        load_cifar10(tmp_path / "t.tar.gz")
    (tmp_path / "t.tar.gz").write_bytes(whole[:len(whole) // 2])  # between batches
    with pytest.raises(DataFileError, match="t.tar.gz: the archive (is damaged|lacks data_batch_).*"
                                            "download it again"):
        load_cifar10(tmp_path / "t.tar.gz")
    (tmp_path / "t.tar.gz").write_bytes(whole[:100])
    with pytest.raises(DataFileError, match="t.tar.gz: a gzip file, but not a readable tar archive"):
        load_cifar10(tmp_path / "t.tar.gz")
    with pytest.raises(ValueError, match="split must be 'train' or 'test'"):
        load_cifar10(folder, split="all")


def test_an_archive_member_claiming_too_much_is_refused_before_reading(tmp_path):
    info = tarfile.TarInfo("data_batch_1.bin")
    info.size = 3073 * 20_000
    path = tmp_path / "big.tar"
    with tarfile.open(path, "w") as archive:
        archive.addfile(info, io.BytesIO(bytes(info.size)))
    with pytest.raises(DataFileError, match="big.tar:data_batch_1.bin: 61,460,000 bytes, more than"):
        load_cifar10(path)


# --- CIFAR-10, python version ---------------------------------------------------------------

def python_batch(labels, pixels, protocol=2):
    return pickle.dumps({b"batch_label": b"batch", "labels": [int(v) for v in labels],
                         "data": pixels.reshape(len(pixels), -1), "filenames": ["a.png"] * len(labels)},
                        protocol=protocol)


@pytest.mark.parametrize("protocol", [2, 4])
def test_cifar10_python_version_through_the_restricted_unpickler(tmp_path, protocol):
    batches = cifar_batches()
    folder = tmp_path / "cifar-10-batches-py"  # as torchvision leaves it
    folder.mkdir()
    for name, batch in batches.items():
        (folder / name).write_bytes(python_batch(*batch, protocol=protocol))
    images, labels = load_cifar10(tmp_path)
    want_images, want_labels = expected(batches, TRAIN)
    np.testing.assert_array_equal(labels, want_labels)
    np.testing.assert_array_equal(images, want_images)
    archive = tar_gz(tmp_path / "cifar-10-python.tar.gz",
                     {f"cifar-10-batches-py/{n}": (folder / n).read_bytes() for n in batches})
    np.testing.assert_array_equal(load_cifar10(archive, split="test")[1],
                                  expected(batches, ["test_batch"])[1])


def test_cifar10_python_batches_as_python_2_wrote_them(tmp_path):
    labels = np.array([1, 0, 9], dtype=np.uint8)
    pixels = RNG.integers(0, 256, size=(3, 3, 32, 32), dtype=np.uint8)
    blob = python2_pickle(labels, pixels.reshape(3, -1))
    trusted = pickle.loads(blob, encoding="latin1")  # the test's own bytes: checks the writer
    assert trusted["labels"] == [1, 0, 9] and np.array_equal(trusted["data"], pixels.reshape(3, -1))
    for name in TRAIN:
        (tmp_path / name).write_bytes(blob)
    images, read_labels = load_cifar10(tmp_path)
    assert read_labels.tolist() == [1, 0, 9] * 5
    np.testing.assert_array_equal(images[:3], pixels.astype(np.float32) / 255)


class RunsACommand:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


def test_a_hostile_pickle_is_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / "it-ran"
    hostile = pickle.dumps({"data": RunsACommand(f"touch {marker}"), "labels": [0]}, protocol=2)
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for name in TRAIN:
        (folder / name).write_bytes(hostile)
    archive = tar_gz(tmp_path / "cifar-10-python.tar.gz",
                     {f"cifar-10-batches-py/{name}": hostile for name in TRAIN})
    for path in (tmp_path, archive):
        with pytest.raises(DataFileError, match=r"data_batch_1: refused: the pickle asks for "
                                                r"(posix|nt)\.system, .* nothing in it was run"):
            load_cifar10(path)
        assert not marker.exists()
    pickle.loads(hostile)  # what a bare pickle.load would have done
    assert marker.exists()


@pytest.mark.parametrize("payload, message", [
    (np.array([object()] * 2), "refused: the pickle asks for the NumPy dtype 'O8'"),
    (np.zeros((2, 3072), dtype=np.float64), "refused: the pickle asks for the NumPy dtype 'f8'"),
    (np.zeros((2, 100), dtype=np.uint8), r"'data' is not an array of unsigned bytes of shape \(N, 3072\) "
                                         r"\(found \(2, 100\)\)"),
    (np.zeros((2, 2), dtype=[("a", "u1"), ("b", "u1")]), "refused: the pickle asks for the NumPy dtype"),
])
def test_pickles_holding_anything_but_unsigned_bytes_are_refused(tmp_path, payload, message):
    blob = pickle.dumps({"data": payload, "labels": [0, 1]}, protocol=2)
    for name in TRAIN:
        (tmp_path / name).write_bytes(blob)
    with pytest.raises(DataFileError, match=message):
        load_cifar10(tmp_path)


def test_a_pickle_cannot_tamper_with_the_admitted_reconstructors(tmp_path):
    # numpy.dtype, then BUILD with a slot state that would replace what it calls
    tamper = (b"\x80\x02cnumpy\ndtype\nN}X\t\x00\x00\x00_functioncnumpy\ndtype\ns\x86b.")
    (tmp_path / "data_batch_1").write_bytes(tamper)
    for name in TRAIN[1:]:
        (tmp_path / name).write_bytes(tamper)
    with pytest.raises(DataFileError, match="refused: the pickle asks for setting the state of a "
                                            "reconstructor"):
        load_cifar10(tmp_path)


def test_damaged_and_foreign_pickles(tmp_path):
    good = python_batch(*cifar_batches(2)["test_batch"])
    for blob, message in ((good[:len(good) // 2], "test_batch: not a CIFAR-10 python batch"),
                          (pickle.dumps([1, 2, 3]), "holds a list, expected a dict"),
                          (pickle.dumps({"data": np.zeros((2, 3072), np.uint8), "fine_labels": [0, 1]}),
                           "'labels' is not a list of integers.*CIFAR-100"),
                          (pickle.dumps({"data": np.zeros((2, 3072), np.uint8), "labels": [0, 10]}),
                           "label 10 of image 1 is not a class 0-9"),
                          (pickle.dumps({"data": np.zeros((2, 3072), np.uint8), "labels": [0]}),
                           "2 images but 1 labels")):
        (tmp_path / "test_batch").write_bytes(blob)
        with pytest.raises(DataFileError, match=message):
            load_cifar10(tmp_path, split="test")
