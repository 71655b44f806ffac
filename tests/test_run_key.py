"""The run key (gitops_ml.runs.key): computed from the spec and the data pointers, a frozen
value that reading the data does not change, and never a reason for ``report`` to download."""

from __future__ import annotations

import dataclasses
import http.server
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from gitops_ml.errors import DataError, ExitCode
from gitops_ml.project.spec import find_spec, load_config
from gitops_ml.runs.key import run_key
from gitops_ml.train import read_datasets
from gitops_ml.util.hashing import sha256_file
from tests.projects import CSV, spec


@contextmanager
def counting_server(folder: Path) -> Iterator[tuple[str, list[str]]]:
    """Serve ``folder`` over HTTP on 127.0.0.1; yields the base URL and the request log."""
    log: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(folder), **kwargs)  # type: ignore[arg-type]

        def log_message(self, format: str, *args: object) -> None:
            log.append(f"{self.command} {self.path}")

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", log
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def remote_project(make_repo, tmp_path: Path) -> Iterator[tuple[Path, list[str]]]:
    """A model whose training data is a bare https-style URI (no sha256 in the spec)."""
    served = tmp_path / "served"
    served.mkdir()
    (served / "train.csv").write_text(CSV)
    with counting_server(served) as (base, log):
        repo = make_repo({"gitops-ml.yaml": "models: models/*/model.yaml\n",
                          "models/churn/model.yaml": spec(data=f"\n  train: {base}/train.csv")})
        yield repo, log


def test_report_never_downloads_data_to_find_its_records(remote_project, gml) -> None:
    repo, log = remote_project
    r = gml("train", "churn", "-o", "json", cwd=repo)
    assert r.exit_code == 0, r.output
    trained_key = r.json()["result"]["run_key"]
    assert any(line.startswith("GET /train.csv") for line in log)
    seen = len(log)

    r = gml("report", "churn", "--format", "json", "--no-step-summary", cwd=repo)
    assert r.exit_code == 0, r.output
    assert trained_key in r.stdout
    assert log[seen:] == []  # keyed by what the URI served when it was downloaded

    # with an empty cache nothing says what the URI served: one clear line, no download
    shutil.rmtree(repo / ".gitops-ml" / "cache")
    r = gml("report", "churn", "--no-step-summary", cwd=repo)
    assert r.exit_code == ExitCode.DATA, r.output
    assert "needs the sha256 of its train data" in r.stderr
    assert len(r.stderr.strip().splitlines()) <= 2
    assert log[seen:] == []


def test_training_keys_a_bare_uri_by_what_it_serves_now(remote_project, gml) -> None:
    repo, _ = remote_project
    first = gml("train", "churn", "-o", "json", cwd=repo).json()["result"]["run_key"]
    config = load_config(repo)
    with pytest.raises(DataError):  # no download allowed, and none remembered
        shutil.rmtree(repo / ".gitops-ml" / "cache")
        run_key(config, find_spec(config, "churn"), fetch=False)
    assert run_key(config, find_spec(config, "churn")).key == first  # fetched again


def test_the_key_is_frozen_and_reading_its_data_leaves_it_as_it_was(make_repo) -> None:
    repo = make_repo({"gitops-ml.yaml": "models: models/*/model.yaml\n",
                      "data/train.csv": CSV, "models/churn/model.yaml": spec()})
    config = load_config(repo)
    key = run_key(config, find_spec(config, "churn"))
    before = (dict(key.pointers), dict(key.data_sha256), key.key)
    assert key.data_sha256 == {"train": sha256_file(repo / "data/train.csv")}
    assert key.pointers["train"].sha256 == key.data_sha256["train"]  # pinned to the keyed bytes
    datasets = read_datasets(config, key)
    assert len(datasets.train) + len(datasets.test) == 60
    assert (dict(key.pointers), dict(key.data_sha256), key.key) == before
    with pytest.raises(dataclasses.FrozenInstanceError):
        key.key = "0" * 64  # type: ignore[misc]
    again = run_key(config, find_spec(config, "churn"))
    assert (again.key, dict(again.pointers)) == (key.key, dict(key.pointers))


def test_data_changed_after_keying_is_refused_when_read(make_repo) -> None:
    repo = make_repo({"gitops-ml.yaml": "models: models/*/model.yaml\n",
                      "data/train.csv": CSV, "models/churn/model.yaml": spec()})
    config = load_config(repo)
    key = run_key(config, find_spec(config, "churn"))
    (repo / "data/train.csv").write_text(CSV + "1,20.5,monthly,f,1\n")
    from gitops_ml.errors import HashMismatchError

    with pytest.raises(HashMismatchError):
        read_datasets(config, key)
