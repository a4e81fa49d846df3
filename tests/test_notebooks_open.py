"""The notebooks one command away (issue 27 item 5): `bash scripts/setup.sh notebooks` installs
JupyterLab and jupytext, `jupyter lab notebooks/` serves them, and saving a notebook there
never rewrites the committed .py sources with outputs or metadata (notebooks/jupytext.toml)."""

import configparser
import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = ROOT / "notebooks"
NAMES = sorted(path.stem for path in NOTEBOOK_DIR.glob("[0-9]*.py"))


# ---------------------------------------------------------------- the setup command

def test_setup_has_a_notebooks_mode_that_installs_jupyterlab_and_jupytext():
    extras = configparser.ConfigParser()
    extras.read(ROOT / "setup.cfg")
    for extra in ("notebooks", "test"):
        names = [line.split(">")[0].split("=")[0].strip()
                 for line in extras["options.extras_require"][extra].splitlines() if line.strip()]
        assert {"jupyterlab", "jupytext", "ipykernel", "ipywidgets", "matplotlib"} <= set(names), extra
    script = (ROOT / "scripts" / "setup.sh").read_text()
    assert '-e ".[notebooks]"' in script and '-e ".[test]"' in script
    assert "set-default-viewer python" in script  # a .py opens as a notebook in JupyterLab
    result = subprocess.run(["bash", "-n", str(ROOT / "scripts" / "setup.sh")], capture_output=True)
    assert result.returncode == 0, result.stderr


def test_setup_refuses_an_unknown_mode_before_doing_anything(tmp_path):
    result = subprocess.run(["bash", str(ROOT / "scripts" / "setup.sh"), "notebook"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert result.stderr == "usage: bash scripts/setup.sh [notebooks|test]\n"


# ---------------------------------------------------------------- saving keeps the sources

def notebook_copy(tmp_path, config=True):
    """The notebooks folder copied (times kept, as in a checkout), with or without jupytext.toml."""
    folder = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOK_DIR, folder)
    if not config:
        (folder / "jupytext.toml").unlink()
    return folder


def as_a_learner_saves_it(content, edit=None):
    """A notebook as JupyterLab saves it after running it: outputs and counts, a collapsed
    output and a tag on a cell, the kernel's language_info; ``edit`` appended to a code cell."""
    code = [cell for cell in content["cells"] if cell["cell_type"] == "code"]
    for count, cell in enumerate(code, start=1):
        cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": f"output {count}\n"}]
        cell["execution_count"] = count
    code[1]["metadata"].update({"jupyter": {"outputs_hidden": True}, "tags": ["mine"],
                                "collapsed": True, "scrolled": True})
    if edit is not None:
        code[2]["source"] += f"\n{edit}"
    content["metadata"]["language_info"] = {"name": "python", "version": "3.11.7"}
    return content


def contents_manager(root):
    jupytext = pytest.importorskip("jupytext")
    pytest.importorskip("jupyter_server")
    return jupytext.TextFileContentsManager(root_dir=str(root))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("opened", [".ipynb", ".py"])
def test_saving_in_jupyterlab_writes_outputs_to_the_ipynb_and_leaves_the_py_as_committed(
        tmp_path, name, opened):
    folder = notebook_copy(tmp_path)
    manager = contents_manager(tmp_path)
    path = f"notebooks/{name}{opened}"
    model = manager.get(path, content=True, type="notebook")
    model["content"] = as_a_learner_saves_it(model["content"])
    manager.save(model, path)
    assert (folder / f"{name}.py").read_bytes() == (NOTEBOOK_DIR / f"{name}.py").read_bytes()
    saved = json.loads((folder / f"{name}.ipynb").read_text())
    outputs = [cell["outputs"] for cell in saved["cells"] if cell["cell_type"] == "code"]
    assert outputs[0] == [{"output_type": "stream", "name": "stdout", "text": ["output 1\n"]}]


def test_a_learners_own_change_to_a_cell_reaches_the_py_and_nothing_else(tmp_path):
    name = NAMES[0]
    folder = notebook_copy(tmp_path)
    manager = contents_manager(tmp_path)
    path = f"notebooks/{name}.ipynb"
    model = manager.get(path, content=True, type="notebook")
    model["content"] = as_a_learner_saves_it(model["content"], edit="print('my own line')")
    manager.save(model, path)
    before = (NOTEBOOK_DIR / f"{name}.py").read_text().splitlines()
    after = (folder / f"{name}.py").read_text().splitlines()
    added = [line for line in after if line not in before]
    assert added == ["print('my own line')"] and all(line in after for line in before)


def test_without_the_config_a_save_would_rewrite_the_py(tmp_path):
    """What notebooks/jupytext.toml prevents: the check above can fail."""
    name = NAMES[0]
    folder = notebook_copy(tmp_path, config=False)
    manager = contents_manager(tmp_path)
    path = f"notebooks/{name}.ipynb"
    model = manager.get(path, content=True, type="notebook")
    model["content"] = as_a_learner_saves_it(model["content"])
    manager.save(model, path)
    text = (folder / f"{name}.py").read_text()
    assert "jupytext_version" in text and '# %% jupyter={"outputs_hidden": true}' in text


# ---------------------------------------------------------------- jupyter lab, headless

def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fetch(url, token, method="GET", body=None):
    request = urllib.request.Request(url, method=method, headers={"Authorization": f"token {token}",
                                                                  "Content-Type": "application/json"},
                                     data=None if body is None else json.dumps(body).encode())
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, response.read()


@pytest.mark.slow
def test_jupyter_lab_starts_headless_and_serves_the_notebooks(tmp_path):
    pytest.importorskip("jupyterlab")
    pytest.importorskip("jupytext")
    folder = notebook_copy(tmp_path / "work")
    port, token = free_port(), "tapegrad-test-token"
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}",
               "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}",
               f"--ServerApp.root_dir={folder.parent}", "--ServerApp.open_browser=False"]
    if os.geteuid() == 0:
        command.append("--allow-root")
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    log = open(tmp_path / "lab.log", "w")
    server = subprocess.Popen(command, cwd=folder.parent, stdout=log, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                status, _ = fetch(f"{base}/api/status", token)
                break
            except OSError:
                assert server.poll() is None, (tmp_path / "lab.log").read_text()
                assert time.monotonic() < deadline, "jupyter lab did not start in 90 s"
                time.sleep(0.5)
        status, body = fetch(f"{base}/api/contents/notebooks", token)
        listing = {item["name"]: item["type"] for item in json.loads(body)["content"]}
        for name in NAMES:  # both files of each pair open as notebooks (jupytext)
            assert listing[f"{name}.ipynb"] == "notebook" and listing[f"{name}.py"] == "notebook", listing
        status, page = fetch(f"{base}/lab", token)
        assert status == 200 and b"JupyterLab" in page
        overrides = pathlib.Path(sys.prefix, "etc", "jupyter", "labconfig", "default_setting_overrides.json")
        if overrides.exists():  # written by scripts/setup.sh notebooks (and test)
            status, body = fetch(f"{base}/lab/api/settings/@jupyterlab/docmanager-extension:plugin", token)
            viewers = json.loads(body)["schema"]["properties"]["defaultViewers"]["default"]
            assert viewers.get("python") == "Jupytext Notebook", viewers  # overrides set defaults
        # a save through the server, as JupyterLab's autosave does it
        path = f"notebooks/{NAMES[1]}.ipynb"
        status, body = fetch(f"{base}/api/contents/{path}?content=1&type=notebook", token)
        content = as_a_learner_saves_it(json.loads(body)["content"])
        fetch(f"{base}/api/contents/{path}", token, "PUT",
              {"type": "notebook", "format": "json", "content": content})
        assert (folder / f"{NAMES[1]}.py").read_bytes() == (NOTEBOOK_DIR / f"{NAMES[1]}.py").read_bytes()
        assert '"output 1\\n"' in (folder / f"{NAMES[1]}.ipynb").read_text()
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
