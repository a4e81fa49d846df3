"""Weights files (issue 19 item 7): headers that claim more data than the file holds are refused
before anything is allocated; a killed save's temporary file is removed by the next save of the
same target, and nothing else is; a save reaches the disk before it replaces the old file."""

import io
import os
import resource
import signal
import socket
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

import autograd
from autograd.serialization import WeightsFileError, load, save

ROOT = Path(autograd.__file__).resolve().parents[1]  # the child saves with the same code
posix_only = pytest.mark.skipif(os.name != "posix", reason="pids and signals as on POSIX")


# ---------------------------------------------------------------- headers that lie

def npy_bytes(shape, descr="<f8", data=b"\0" * 24, fortran_order=False):
    """An .npy file whose header says ``shape`` and ``descr``, followed by ``data``."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"shape": shape, "fortran_order": fortran_order, "descr": descr})
    return buffer.getvalue() + data


def write_npz(path, members, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return path


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


@pytest.mark.parametrize("shape, claimed", [
    ((50_000_000_000_000,), "400,000,000,000,000"),   # 364 TiB of float64
    ((5_000, 1_000_000),   "40,000,000,000"),         # 40 GB
])
@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_a_header_claiming_more_than_the_member_holds_is_refused_before_allocating(
        tmp_path, shape, claimed, compression):
    path = write_npz(tmp_path / "w.npz", {"ok.npy": npy_bytes((3,)),
                                          "huge.npy": npy_bytes(shape)}, compression)
    before, start = peak_rss_mib(), time.perf_counter()
    with pytest.raises(WeightsFileError) as caught:
        load(path)
    assert time.perf_counter() - start < 5
    assert peak_rss_mib() - before < 100  # nothing of the claimed size was ever made
    message = str(caught.value)
    assert message.startswith(f"{path}: entry 'huge' claims shape {shape} of float64, "
                              f"{claimed} bytes, but holds 24 bytes of data"), message
    assert "save the weights again" in message
    assert not isinstance(caught.value.__cause__, MemoryError)


def test_a_header_claiming_less_than_the_member_holds_is_refused(tmp_path):
    path = write_npz(tmp_path / "w.npz", {"w.npy": npy_bytes((2,), data=b"\0" * 40)})
    with pytest.raises(WeightsFileError, match=r"entry 'w' claims shape \(2,\) of float64, 16 bytes, "
                                               r"but holds 40 bytes"):
        load(path)


def test_a_zip_directory_that_lies_about_a_members_size_is_refused(tmp_path):
    """Header and zip directory both claim 3 GB; the archive stores 152 bytes for the member."""
    content = npy_bytes((375_000_000,), data=b"\0" * 24)
    path = write_npz(tmp_path / "w.npz", {"w.npy": content})
    raw = bytearray(path.read_bytes())
    lie = (3_000_000_000 + len(content) - 24).to_bytes(4, "little")
    local = raw.index(b"PK\x03\x04")
    central = raw.index(b"PK\x01\x02")
    raw[local + 22:local + 26] = lie        # uncompressed size, local header
    raw[central + 24:central + 28] = lie    # uncompressed size, central directory
    path.write_bytes(bytes(raw))
    assert zipfile.ZipFile(path).getinfo("w.npy").file_size == 3_000_000_000 + len(content) - 24
    before = peak_rss_mib()
    with pytest.raises(WeightsFileError, match=r"entry 'w' claims 3,000,000,128 bytes stored in 152"):
        load(path)
    assert peak_rss_mib() - before < 100


def test_a_negative_dimension_is_refused(tmp_path):
    path = write_npz(tmp_path / "w.npz", {"w.npy": npy_bytes((-3,))})
    with pytest.raises(WeightsFileError, match=r"entry 'w' claims the impossible shape \(-3,\)"):
        load(path)


def test_a_member_cut_inside_its_header_is_a_clear_error(tmp_path):
    path = write_npz(tmp_path / "w.npz", {"w.npy": npy_bytes((3,))[:7]})
    with pytest.raises(WeightsFileError, match=r"entry 'w' ends inside its .npy header"):
        load(path)
    path = write_npz(tmp_path / "w.npz", {"w.npy": npy_bytes((3,))[:30]})
    with pytest.raises(WeightsFileError, match=r"truncated or corrupted"):
        load(path)


def test_the_reader_round_trips_every_layout_and_numeric_dtype(tmp_path):
    """The header checks read the .npy format themselves: every case np.savez writes must load."""
    rng = np.random.default_rng(0)
    state = {"fortran": np.asfortranarray(rng.normal(size=(3, 4))),
             "scalar": np.array(2.5, dtype=np.float32),
             "empty": np.zeros((0, 3), dtype=np.float32),
             "big_endian": np.arange(5, dtype=">i4"),
             "flags": np.array([True, False]),
             "half": rng.normal(size=7).astype(np.float16),
             "bytes": np.arange(256, dtype=np.uint8).reshape(16, 16),
             "complex": np.array([1 + 2j, 3j], dtype=np.complex64),
             "large": rng.normal(size=(3, 1 << 20)).astype(np.float32)}  # 12 MiB: several chunks
    save(state, tmp_path / "w.npz")
    compressed = tmp_path / "c.npz"
    np.savez_compressed(compressed, **state)
    for path in (tmp_path / "w.npz", compressed):
        loaded = load(path)
        assert list(loaded) == list(state)
        for name, array in state.items():
            assert loaded[name].dtype == array.dtype and loaded[name].shape == array.shape, name
            np.testing.assert_array_equal(loaded[name], array, err_msg=name)
            assert loaded[name].flags.writeable, name
    assert load(tmp_path / "w.npz")["fortran"].flags.f_contiguous


# ---------------------------------------------------------------- temporary files of killed saves

def temporary_name(target, host=None, pid=None, suffix="0123abcd"):
    host = host or socket.gethostname().replace(".", "_")
    return f".{target}.tapegrad-{host}-{pid}-{suffix}.tmp"


def dead_pid():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@posix_only
def test_a_stale_temporary_file_of_the_target_is_removed_and_nothing_else(tmp_path):
    gone = dead_pid()
    host = socket.gethostname()
    if any(c not in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-" for c in host):
        pytest.skip("the test spells the host name as it is; tapegrad replaces other characters")
    stale = temporary_name("w.npz", pid=gone)
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        kept = [
            temporary_name("w.npz", pid=live.pid),             # a save still running elsewhere
            temporary_name("w.npz", pid=os.getpid()),          # one of this process's own saves
            temporary_name("other.npz", pid=gone),             # another target's
            temporary_name("w.npz.bak", pid=gone),             # a target whose name extends ours
            temporary_name("w.npz", host="otherhost", pid=gone),  # another machine's
            ".w.npz.0123abcd.tmp",                              # not tapegrad's pattern
            "w.npz.tmp", "notes.txt",
        ]
        for name in [stale] + kept:
            (tmp_path / name).write_bytes(b"partial weights")
        save({"a": np.ones(2)}, tmp_path / "w.npz")
        assert sorted(os.listdir(tmp_path)) == sorted(kept + ["w.npz"])
        np.testing.assert_array_equal(load(tmp_path / "w.npz")["a"], np.ones(2))
    finally:
        live.kill()
        live.wait()


def test_the_temporary_file_names_tapegrad_the_host_and_the_process(tmp_path, monkeypatch):
    seen = []
    real_replace = os.replace

    def replace(source, destination):
        seen.append(os.path.basename(source))
        real_replace(source, destination)

    monkeypatch.setattr(os, "replace", replace)
    save({"a": np.ones(2)}, tmp_path / "w.npz")
    host = "".join(c if c.isascii() and (c.isalnum() or c in "_-") else "_"
                   for c in socket.gethostname())
    assert seen and seen[0].startswith(f".w.npz.tapegrad-{host}-{os.getpid()}-")
    assert os.listdir(tmp_path) == ["w.npz"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/fd")
def test_save_syncs_the_file_before_the_rename_and_the_folder_after(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(source, destination):
        events.append(("replace", os.fspath(source)))
        real_replace(source, destination)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    save({"a": np.ones(2)}, tmp_path / "w.npz")
    assert [kind for kind, _ in events] == ["fsync", "replace", "fsync"]
    assert events[0][1] == events[1][1]          # the temporary file's data, then the rename
    assert events[2][1] == str(tmp_path.resolve())  # then the folder holding the new name


CHILD = textwrap.dedent("""
    import sys
    import numpy as np
    from autograd.serialization import save
    state = {f"w{i}": np.random.default_rng(i).normal(size=(1 << 21,)) for i in range(6)}  # 96 MiB
    print("ready", flush=True)
    while True:
        save(state, sys.argv[1])
""")


def writing(folder):
    """True while a save of w.npz has written part of its temporary file."""
    for name in os.listdir(folder):
        if name.startswith(".w.npz.") and name.endswith(".tmp"):
            try:
                if os.path.getsize(folder / name) > 0:
                    return True
            except FileNotFoundError:  # renamed meanwhile
                pass
    return False


@posix_only
def test_a_temporary_file_left_by_a_killed_save_is_removed_by_the_next_save(tmp_path):
    """A real SIGKILL in the middle of a save: the old file survives, the next save cleans up."""
    target = tmp_path / "w.npz"
    save({"old": np.arange(3.0)}, target)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    for attempt in range(5):
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(target)], env=env,
                                 stdout=subprocess.PIPE, cwd=ROOT)
        try:
            assert child.stdout.readline() == b"ready\n"
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not writing(tmp_path):
                time.sleep(0.002)
            os.kill(child.pid, signal.SIGKILL)
        finally:
            child.kill()
            child.wait()  # reaped: a zombie's pid still exists
            child.stdout.close()
        left = [name for name in os.listdir(tmp_path) if name.startswith(".w.npz.")]
        if left:
            break
    else:
        pytest.skip("the child was never killed while a save was writing")
    assert len(left) == 1 and (tmp_path / left[0]).stat().st_size > 0
    assert list(load(target)) in (["old"], [f"w{i}" for i in range(6)])  # the rename is atomic
    save({"new": np.ones(2)}, target)
    assert os.listdir(tmp_path) == ["w.npz"]
    assert list(load(target)) == ["new"]
    assert left[0].startswith(".w.npz.tapegrad-") and f"-{child.pid}-" in left[0]
