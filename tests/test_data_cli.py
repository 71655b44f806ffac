"""``gitops-ml data`` end to end: real files, a real HTTP server, exit codes and one-line
errors."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_data_servers import CSV, http_server, make_data_repo, silent_server

SPEC = ("name: {name}\ntask: classification\ndata:\n  train: {train}\ntarget: label\n"
        "features: {{numeric: [a], categorical: [b]}}\n"
        "estimator: {{class: sklearn.linear_model.LogisticRegression}}\n")


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_data_repo(tmp_path)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    folder = tmp_path / "served"
    folder.mkdir()
    with http_server(folder) as base:
        yield base, folder


def blobs(repo: Path) -> list[Path]:
    root = repo / ".gitops-ml" / "cache" / "sha256"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def one_error_line(result, code: int) -> str:
    """The command failed with ``code``, printing exactly one line and no traceback."""
    assert result.exit_code == code, result
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result
    assert lines[0].startswith("error: ")
    return lines[0]


# --- the happy paths -----------------------------------------------------------------------

def test_add_writes_a_pointer_that_verify_then_checks(gml, repo: Path) -> None:
    result = gml("data", "add", "data/train.csv", cwd=repo)
    assert result.exit_code == 0, result
    assert result.stdout.startswith("wrote data/train.csv.ptr.yaml: data/train.csv sha256 ")
    pointer = repo / "data" / "train.csv.ptr.yaml"
    assert pointer.read_text() == (f"uri: data/train.csv\nsha256: {sha(CSV)}\nsize: "
                                   f"{len(CSV)}\nformat: csv\n")
    again = gml("data", "add", "data/train.csv", cwd=repo)
    assert again.stdout.startswith("unchanged ")
    ok = gml("data", "verify", "data/train.csv.ptr.yaml", cwd=repo)
    assert ok.exit_code == 0 and "ok " in ok.stdout and "1 verified" in ok.stdout
    (repo / "data" / "train.csv").write_text(CSV + "4,y,1\n")
    bad = gml("data", "verify", "data/train.csv.ptr.yaml", cwd=repo)
    assert bad.exit_code == 4, bad
    assert (f"error: data/train.csv.ptr.yaml:1: sha256 mismatch for data/train.csv: expected "
            f"{sha(CSV)}, got {sha(CSV + '4,y,1' + chr(10))}") in bad.stdout
    assert "0 verified, 1 failed" in bad.stdout


def test_add_with_a_custom_pointer_path_from_a_subfolder(gml, repo: Path) -> None:
    result = gml("data", "add", "train.csv", "--pointer", "../models/train.ptr.yaml",
                 cwd=repo / "data")
    assert result.exit_code == 0, result
    assert (repo / "models" / "train.ptr.yaml").read_text().startswith("uri: data/train.csv\n")


def test_add_to_a_folder_then_pull_into_a_fresh_cache(gml, repo: Path, tmp_path: Path) -> None:
    remote = tmp_path / "remote"
    result = gml("data", "add", "data/train.csv", "--to", f"{remote.as_uri()}/sets/", cwd=repo)
    assert result.exit_code == 0, result
    assert (remote / "sets" / "train.csv").read_text() == CSV
    text = (repo / "data" / "train.csv.ptr.yaml").read_text()
    assert text.startswith(f"uri: {remote.as_uri()}/sets/train.csv\nsha256: {sha(CSV)}\n")
    pulled = gml("data", "pull", "data/train.csv.ptr.yaml", cwd=repo)
    assert pulled.exit_code == 0 and "1 downloaded" in pulled.stdout
    assert [p.read_text() for p in blobs(repo)] == [CSV]


def test_add_to_a_plain_folder_outside_the_repo_points_with_file_uri(gml, repo: Path,
                                                                      tmp_path: Path) -> None:
    result = gml("data", "add", "train.csv", "--to", "../../store/", cwd=repo / "data")
    assert result.exit_code == 0, result
    target = tmp_path / "store" / "train.csv"
    assert target.read_text() == CSV
    assert (repo / "data" / "train.csv.ptr.yaml").read_text().startswith(
        f"uri: {target.as_uri()}\n")


def test_pull_fills_the_cache_for_every_model(gml, repo: Path,
                                              served: tuple[str, Path]) -> None:
    base, folder = served
    (folder / "train.csv").write_text(CSV)
    (repo / "data" / "remote.ptr.yaml").write_text(f"uri: {base}/train.csv\nsha256: {sha(CSV)}\n")
    for name, train in (("one", "data/remote.ptr.yaml"), ("two", "data/train.csv")):
        (repo / "models" / name).mkdir(parents=True)
        (repo / "models" / name / "model.yaml").write_text(SPEC.format(name=name, train=train))
    result = gml("data", "pull", cwd=repo)
    assert result.exit_code == 0, result
    assert "1 downloaded, 0 already cached, 1 in the repository" in result.stdout
    assert [p.read_text() for p in blobs(repo)] == [CSV]
    again = gml("--output", "json", "data", "pull", "--model", "one", cwd=repo)
    envelope = again.json()
    assert envelope["ok"] and envelope["result"]["action"] == "pull"
    assert [(i["status"], i["sha256"]) for i in envelope["result"]["items"]] == [
        ("cached", sha(CSV))]
    verify = gml("data", "verify", "--model", "one", cwd=repo)
    assert verify.exit_code == 0 and "1 verified" in verify.stdout


def test_push_uploads_the_file_beside_its_pointer(gml, repo: Path, tmp_path: Path) -> None:
    remote = tmp_path / "bucket" / "train.csv"
    (repo / "data" / "train.csv.ptr.yaml").write_text(
        f"uri: {remote.as_uri()}\nsha256: {sha(CSV)}\n")
    result = gml("data", "push", "data/train.csv.ptr.yaml", cwd=repo)
    assert result.exit_code == 0, result
    assert remote.read_text() == CSV and "1 pushed" in result.stdout
    again = gml("data", "push", "data/train.csv.ptr.yaml", cwd=repo)
    assert "0 pushed, 1 already there" in again.stdout


def test_json_envelope_of_add(gml, repo: Path) -> None:
    result = gml("data", "add", "data/train.csv", "--output", "json", cwd=repo)
    body = json.loads(result.stdout)
    assert body["ok"] and body["result"] == {
        "file": "data/train.csv", "pointer_file": "data/train.csv.ptr.yaml",
        "uri": "data/train.csv", "sha256": sha(CSV), "size": len(CSV), "format": "csv",
        "pushed": False, "changed": True}


# --- bad input: one line, the right exit code, no traceback --------------------------------

def test_malformed_sha256_names_the_file_and_line(gml, repo: Path) -> None:
    (repo / "data" / "bad.ptr.yaml").write_text("uri: data/train.csv\nsha256: 12ab\n")
    line = one_error_line(gml("data", "verify", "data/bad.ptr.yaml", cwd=repo), 3)
    assert line.startswith("error: data/bad.ptr.yaml:2:1: sha256: '12ab' does not match")


def test_unknown_key_in_a_pointer_file(gml, repo: Path) -> None:
    (repo / "data" / "bad.ptr.yaml").write_text("uri: data/train.csv\nsha265: abc\n")
    line = one_error_line(gml("data", "pull", "data/bad.ptr.yaml", cwd=repo), 3)
    assert line == ("error: data/bad.ptr.yaml:2:1: sha265: unknown key 'sha265' (did you mean "
                    "'sha256'?)")


def test_missing_data_file(gml, repo: Path) -> None:
    (repo / "data" / "gone.ptr.yaml").write_text(f"uri: data/gone.csv\nsha256: {sha(CSV)}\n")
    line = one_error_line(gml("data", "pull", "data/gone.ptr.yaml", cwd=repo), 4)
    assert line.startswith("error: data/gone.ptr.yaml:1: data file not found: data/gone.csv")
    missing = gml("data", "add", "data/nothing.csv", cwd=repo)
    assert one_error_line(missing, 4).startswith("error: no such file: ")


def test_hash_mismatch_over_http_leaves_the_cache_empty(gml, repo: Path,
                                                        served: tuple[str, Path]) -> None:
    base, folder = served
    (folder / "train.csv").write_text(CSV + "tampered\n")
    (repo / "data" / "r.ptr.yaml").write_text(f"uri: {base}/train.csv\nsha256: {sha(CSV)}\n")
    line = one_error_line(gml("data", "pull", "data/r.ptr.yaml", cwd=repo), 4)
    assert line.startswith(f"error: data/r.ptr.yaml:1: sha256 mismatch for {base}/train.csv: "
                           f"expected {sha(CSV)}, got {sha(CSV + 'tampered' + chr(10))}")
    assert blobs(repo) == []


def test_http_404(gml, repo: Path, served: tuple[str, Path]) -> None:
    base, _ = served
    (repo / "data" / "r.ptr.yaml").write_text(f"uri: {base}/nope.csv\nsha256: {sha(CSV)}\n")
    line = one_error_line(gml("data", "pull", "data/r.ptr.yaml", cwd=repo), 4)
    assert line.startswith(f"error: data/r.ptr.yaml:1: not found: {base}/nope.csv")


def test_http_server_that_never_answers_times_out(gml, repo: Path) -> None:
    with silent_server() as base:
        (repo / "data" / "r.ptr.yaml").write_text(f"uri: {base}/t.csv\nsha256: {sha(CSV)}\n")
        result = gml("data", "pull", "data/r.ptr.yaml", cwd=repo,
                     env={"GITOPS_ML_HTTP_TIMEOUT": "0.5"})
    line = one_error_line(result, 4)
    assert line.startswith("error: data/r.ptr.yaml:1: timed out after 0.5s waiting for "
                           f"{base}/t.csv")
    assert blobs(repo) == []


def test_file_outside_the_repository_needs_to(gml, repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.csv"
    outside.write_text(CSV)
    line = one_error_line(gml("data", "add", str(outside), cwd=repo), 4)
    assert "is outside the repository (pass --to URI" in line


def test_pushing_to_http_is_refused(gml, repo: Path) -> None:
    line = one_error_line(gml("data", "add", "data/train.csv", "--to",
                              "https://example.invalid/x.csv", cwd=repo), 4)
    assert "HTTP(S) pointers are read-only" in line


# --- progress ------------------------------------------------------------------------------

class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_only_on_a_terminal_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    from gitops_ml.cli import data as cli_data

    for name in ("CI", "GITHUB_ACTIONS", "GITOPS_ML_NO_PROGRESS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("sys.stderr", io.StringIO())
    assert not cli_data.show_progress()
    tty = _Tty()
    monkeypatch.setattr("sys.stderr", tty)
    assert cli_data.show_progress()
    with cli_data.BarReporter().task("hash big.csv", 2_000_000) as advance:
        advance(1_000_000)
        advance(1_000_000)
    assert "hash big.csv (2.0 MB)" in tty.getvalue() and "100%" in tty.getvalue()
    for name in ("CI", "GITHUB_ACTIONS", "GITOPS_ML_NO_PROGRESS"):
        monkeypatch.setenv(name, "true")
        assert not cli_data.show_progress()
        monkeypatch.delenv(name)


# --- through validate (the lead's command calls check_pointer and local_header) -------------

@pytest.mark.slow  # the first validate may build the estimator catalogue
def test_validate_names_the_spec_line_of_a_missing_data_file(gml, repo: Path) -> None:
    (repo / "models" / "m").mkdir(parents=True)
    (repo / "models" / "m" / "model.yaml").write_text(SPEC.format(name="m", train="data/gone.csv"))
    result = gml("validate", cwd=repo)
    assert result.exit_code == 3, result
    assert ("models/m/model.yaml:4:3: data.train: data file not found: data/gone.csv"
            in result.output)


@pytest.mark.slow  # the first validate may build the estimator catalogue
def test_validate_reads_the_header_of_dvc_data_in_the_dvc_cache(gml, repo: Path) -> None:
    digest = hashlib.md5(CSV.encode()).hexdigest()
    (repo / ".dvc" / "cache" / "files" / "md5" / digest[:2]).mkdir(parents=True)
    (repo / ".dvc" / "cache" / "files" / "md5" / digest[:2] / digest[2:]).write_text(CSV)
    (repo / "data" / "train.csv").unlink()
    (repo / "data" / "train.csv.dvc").write_text(f"outs:\n- md5: {digest}\n  path: train.csv\n")
    (repo / "models" / "m").mkdir(parents=True)
    (repo / "models" / "m" / "model.yaml").write_text(
        SPEC.format(name="m", train="data/train.csv.dvc").replace("[a]", "[a, zz]"))
    result = gml("validate", cwd=repo)
    assert result.exit_code == 3, result
    assert "column 'zz' (features.numeric) is not in the train data's header" in result.output
