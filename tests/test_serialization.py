"""Weights files: round trips, and truncated, foreign and hostile files refused without executing anything."""

import io
import os
import pickle
import zipfile

import numpy as np
import pytest

import autograd as ag
from autograd.serialization import WeightsFileError, load, save


def sample_state():
    rng = np.random.default_rng(0)
    return {"0.weight": rng.normal(size=(4, 1, 3, 3)).astype(np.float32),
            "0.bias": rng.normal(size=(4,)).astype(np.float32),
            "3.weight": rng.normal(size=(10, 64)),  # float64 stays float64
            "steps": np.array(7, dtype=np.int64)}


def test_round_trip_keeps_names_order_values_dtypes_and_shapes(tmp_path):
    state = sample_state()
    path = tmp_path / "weights.npz"
    save(state, path)
    loaded = load(path)
    assert list(loaded) == list(state)
    for name, array in state.items():
        assert loaded[name].dtype == array.dtype and loaded[name].shape == array.shape
        np.testing.assert_array_equal(loaded[name], array)


def test_save_accepts_tensors_and_writes_exactly_the_given_path(tmp_path):
    path = tmp_path / "model.weights"  # numpy.savez would have added .npz
    save({"w": ag.tensor([1.0, 2.0], requires_grad=True)}, path)
    assert os.listdir(tmp_path) == ["model.weights"]
    np.testing.assert_array_equal(load(path)["w"], np.array([1.0, 2.0], dtype=np.float32))


def test_save_replaces_an_existing_file_like_numpy(tmp_path):
    path = tmp_path / "w.npz"
    save({"a": np.zeros(2)}, path)
    save({"b": np.ones(3)}, path)
    assert list(load(path)) == ["b"]
    assert sorted(os.listdir(tmp_path)) == ["w.npz"]  # no temporary file left behind


def test_save_refuses_non_numeric_entries_and_leaves_no_file(tmp_path):
    path = tmp_path / "w.npz"
    with pytest.raises(TypeError, match=r"entry 'names' has dtype object.*numeric"):
        save({"names": np.array([{"a": 1}], dtype=object)}, path)
    with pytest.raises(TypeError, match="entry 'labels' has dtype <U3"):
        save({"labels": np.array(["cat", "dog"])}, path)
    with pytest.raises(TypeError, match="dict of name -> array"):
        save([np.zeros(2)], path)
    assert os.listdir(tmp_path) == []


def test_empty_state_dict_round_trips(tmp_path):
    save({}, tmp_path / "empty.npz")
    assert load(tmp_path / "empty.npz") == {}


@pytest.mark.parametrize("keep", [0.9, 0.5, 0.1])
def test_truncated_file_is_a_clear_error(tmp_path, keep):
    path = tmp_path / "w.npz"
    save(sample_state(), path)
    content = path.read_bytes()
    path.write_bytes(content[:int(len(content) * keep)])
    with pytest.raises(WeightsFileError, match="truncated or corrupted.*save the weights again"):
        load(path)


def test_corrupted_data_is_a_clear_error(tmp_path):
    path = tmp_path / "w.npz"
    save({"w": np.arange(1000, dtype=np.float64)}, path)
    content = bytearray(path.read_bytes())
    content[400] ^= 0xFF  # inside the array's bytes: the zip checksum no longer matches
    path.write_bytes(bytes(content))
    with pytest.raises(WeightsFileError, match=str(path).replace("\\", "\\\\")):
        load(path)


def test_empty_file_is_a_clear_error(tmp_path):
    path = tmp_path / "w.npz"
    path.write_bytes(b"")
    with pytest.raises(WeightsFileError, match="not a weights file.*found an empty file"):
        load(path)


def test_foreign_files_are_clear_errors(tmp_path):
    text = tmp_path / "notes.npz"
    text.write_text("hello, these are not weights\n")
    with pytest.raises(WeightsFileError, match=r"notes.npz: not a weights file.*\.npz archive.*b'hell'"):
        load(text)
    single = tmp_path / "single.npy"
    np.save(single, np.zeros(3))
    with pytest.raises(WeightsFileError, match="a single .npy array"):
        load(single)
    strings = tmp_path / "strings.npz"
    np.savez(strings, names=np.array(["a", "b"]))
    with pytest.raises(WeightsFileError, match="entry 'names' has dtype <U1.*numeric arrays only"):
        load(strings)
    other_zip = tmp_path / "document.npz"
    with zipfile.ZipFile(other_zip, "w") as z:
        z.writestr("word/document.xml", "<xml/>")
    with pytest.raises(WeightsFileError, match="entry 'word/document.xml' is not a NumPy array"):
        load(other_zip)


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "nowhere.npz")


class _Hostile:
    """Unpickling this creates the marker file: the proof that a loader executed the pickle."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_hostile_pickle_is_refused_and_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    hostile = np.empty(1, dtype=object)
    hostile[0] = _Hostile(str(marker))
    buffer = io.BytesIO()
    np.save(buffer, hostile, allow_pickle=True)
    path = tmp_path / "weights.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("0.weight.npy", _npy(np.zeros(3)))
        z.writestr("0.bias.npy", buffer.getvalue())
    with pytest.raises(WeightsFileError, match=r"entry '0.bias' is an object array.*not loaded"):
        load(path)
    assert not marker.exists()
    # The crafted file really is dangerous: a loader that unpickles creates the marker.
    with np.load(path, allow_pickle=True) as archive:
        archive["0.bias"]
    assert marker.exists()


def test_a_bare_pickle_file_is_refused_and_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "weights.npz"
    path.write_bytes(pickle.dumps(_Hostile(str(marker))))
    with pytest.raises(WeightsFileError, match="not a weights file: expected an .npz archive"):
        load(path)
    assert not marker.exists()
    pickle.loads(path.read_bytes())  # and it would have run
    assert marker.exists()


def _npy(array):
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def test_state_dict_round_trip_through_a_file(tmp_path):
    from autograd import nn
    nn.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    path = tmp_path / "w.npz"
    save(model.state_dict(), path)
    nn.manual_seed(1)
    other = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    assert not np.array_equal(other[0].weight.data, model[0].weight.data)
    other.load_state_dict(load(path))
    for (name, a), (_, b) in zip(model.named_parameters(), other.named_parameters()):
        np.testing.assert_array_equal(a.data, b.data, err_msg=name)
        assert b.data.dtype == np.float32
