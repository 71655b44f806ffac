"""Registry semantics: counter order, the doctor, SemVer precedence, folder names, full SHAs,
deregistration and deprecation against GTO's rules, and agreement with ``gto show`` itself
(both tools run on the same repositories)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from gitops_ml.errors import ExitCode, RegistryError, StageNotCurrent
from gitops_ml.registry.doctor import doctor
from gitops_ml.registry.queries import history, list_models, show
from gitops_ml.registry.state import read_model
from gitops_ml.registry.tags import model_name, semver_key, tag_name
from gitops_ml.registry.verbs import confirm_stage, deprecate, register, rollback
from gitops_ml.registry.writes import Identity, NewTag, create_tags
from tests import projects
from tests.test_registry import commit, git

ROOT = Path(__file__).resolve().parents[1]
_VENV_BIN = Path(sys.executable).parent
GTO = _VENV_BIN if (_VENV_BIN / "gto").exists() else ROOT / "benchmarks/.work/gto-venv/bin"
needs_gto = pytest.mark.skipif(not (GTO / "gto").exists(),
                               reason="gto is not installed (pip install -e '.[test]')")
WHO = Identity("t", "t@example.com")
FUTURE = 1_900_000_000  # 2030-03-17




def manifest(sha: str, **extra: object) -> dict:
    return {"schema": "gitops-ml/manifest", "artifact": {"sha256": sha}, "run_key": "b" * 64,
            "gates_passed": True, "forced": False, **extra}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    r = tmp_path / "repo"
    r.mkdir()
    git(r, "init", "-q", "-b", "main")
    commit(r, "initial")
    return r


def gto_show(repo: Path) -> dict[str, dict]:
    """``gto show -d --json``, as {model: {latest, stages, active}}."""
    proc = subprocess.run([str(GTO / "gto"), "show", "-d", "--json"], cwd=repo,
                          capture_output=True, text=True, check=True)
    return {name: {"latest": d["version"], "active": d["active"],
                   "stages": {s: v for s, v in d["stage"].items() if v}}
            for name, d in json.loads(proc.stdout).items()}


def ours(repo: Path) -> dict[str, dict]:
    return {m.name: {"latest": m.latest, "active": not m.deprecated, "stages": m.stages}
            for m in list_models(repo, cache=False).models}


def agree(repo: Path) -> dict[str, dict]:
    theirs, mine = gto_show(repo), ours(repo)
    assert mine == theirs
    return mine


# --- counter order, not tagger date -------------------------------------------------------

def future_dated_production(repo: Path) -> None:
    """v0.1.0 and v0.2.0, then a stage tag for v0.2.0 dated in 2030 (a skewed clock, a
    hand-made tag), then v0.3.0 promoted normally."""
    register(repo, "churn", git(repo, "rev-parse", "HEAD"), manifest("1" * 64),
             stage="production")
    c2 = commit(repo)
    register(repo, "churn", c2, manifest("2" * 64))
    create_tags(repo, [NewTag("churn#production#2", c2, "{}")], WHO, now=FUTURE)
    register(repo, "churn", commit(repo), manifest("3" * 64), stage="production")


def test_a_future_dated_stage_tag_does_not_pin_production(repo: Path):
    future_dated_production(repo)
    state = read_model(repo, "churn")
    assert state.stage("production").version == "v0.3.0"
    assert state.stage("production").tag == "churn#production#3"
    assert list_models(repo).models[0].stages == {"production": "v0.3.0"}
    # history is in counter order, newest first, whatever the dates say
    stage_tags = [e.tag for e in history(repo, "churn").events if e.stage]
    assert stage_tags == ["churn#production#3", "churn#production#2", "churn#production#1"]


def test_the_doctor_flags_future_dated_and_out_of_order_tags(repo: Path, gml):
    future_dated_production(repo)
    found = doctor(repo, "churn")
    kinds = {(f.kind, f.tag) for f in found.findings}
    assert ("future_dated", "churn#production#2") in kinds
    assert ("out_of_order", "churn#production#3") in kinds
    assert ("stage_disagrees", "churn#production#3") in kinds
    r = gml("registry", "doctor", cwd=repo)
    assert r.exit_code == ExitCode.REGISTRY
    assert "churn#production#2 is dated 2030-03-17T17:46:40Z" in r.stdout
    assert ("production: v0.3.0 by the tag counters (gitops-ml), v0.2.0 by tagger date "
            "(gto show)") in r.stdout
    j = gml("registry", "doctor", "churn", "-o", "json", cwd=repo).json()
    assert j["exit_code"] == ExitCode.REGISTRY and not j["result"]["healthy"]


def test_the_doctor_finds_nothing_on_what_gitops_ml_writes(repo: Path, gml):
    register(repo, "churn", git(repo, "rev-parse", "HEAD"), manifest("1" * 64),
             stage="production")
    register(repo, "churn", commit(repo), manifest("2" * 64), stage="production")
    rollback(repo, "churn", "v0.1.0")
    deprecate(repo, "churn", "v0.1.0")
    r = gml("registry", "doctor", cwd=repo)
    assert r.exit_code == 0, r.stdout
    # 2 versions, 2 promotions, a rollback, a deregistration and its explicit fallback
    assert r.stdout.strip() == "1 model(s), 7 tag(s): healthy"


def test_the_doctor_flags_tags_tied_in_one_second(repo: Path):
    """Tags written elsewhere (GTO, a script) in one second: GTO breaks the tie by listing
    order, gitops-ml by the counter. Flagged, not guessed."""
    c1 = git(repo, "rev-parse", "HEAD")
    c2 = commit(repo)
    create_tags(repo, [NewTag("churn@v0.1.0", c1, "{}"), NewTag("churn@v0.2.0", c2, "{}"),
                       NewTag("churn#production#1", c1, "{}"),
                       NewTag("churn#production#2", c2, "{}")], WHO, now=1_700_000_000)
    assert read_model(repo, "churn").stage("production").version == "v0.2.0"
    kinds = {f.kind for f in doctor(repo, now=1_700_000_100).findings}
    assert {"same_second", "stage_disagrees"} <= kinds


def test_promote_fails_when_its_assignment_is_not_current(repo: Path):
    """Re-read after writing: a future-dated tag makes gto show keep the old version, so the
    write is not the current assignment everywhere, and the promotion says so."""
    future_dated_production(repo)
    with pytest.raises(StageNotCurrent, match=r"production is v0.3.0 by the tag counters, but "
                                              r"v0.2.0 by tagger date") as exc:
        confirm_stage(repo, "churn", "production", "v0.3.0")
    assert "churn#production#2 is dated 2030" in exc.value.message
    assert "gitops-ml registry doctor churn" in exc.value.one_line()
    with pytest.raises(StageNotCurrent, match=r"churn production is v0.3.0 after writing, "
                                              r"not v0.1.0 \(tag churn#production#3"):
        confirm_stage(repo, "churn", "production", "v0.1.0")


def test_confirm_passes_on_a_normal_write_and_reads_the_remote(repo: Path, tmp_path: Path):
    bare = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(repo, "remote", "add", "origin", str(bare))
    r = register(repo, "churn", git(repo, "rev-parse", "HEAD"), manifest("1" * 64),
                 stage="production", push=True)
    confirm_stage(repo, "churn", "production", r.version, remote="origin")
    confirm_stage(repo, "churn", None, r.version)  # no stage: nothing to confirm
    # another clone moved production since: the remote is the registry
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(bare), str(other))
    git(other, "fetch", "-q", "origin", "refs/tags/*:refs/tags/*")
    register(other, "churn", commit(other), manifest("2" * 64), stage="production", push=True)
    with pytest.raises(StageNotCurrent, match=r"is v0\.2\.0 after writing, not v0\.1\.0"):
        confirm_stage(repo, "churn", "production", "v0.1.0", remote="origin")


# --- agreement with gto show --------------------------------------------------------------

@needs_gto
def test_promotions_in_one_second_agree_with_gto(repo: Path, monkeypatch):
    """Concurrent promotions land in one tagger second. GTO orders by date alone; the write
    path dates each write after the model's newest tag, so both read the counters' answer."""
    monkeypatch.setattr(time, "time", lambda: 1_800_000_000.0)
    for i in range(1, 4):
        c = git(repo, "rev-parse", "HEAD") if i == 1 else commit(repo)
        register(repo, "churn", c, manifest(str(i) * 64), stage="production")
    assert agree(repo) == {"churn": {"latest": "v0.3.0", "active": True,
                                     "stages": {"production": "v0.3.0"}}}
    dates = [e.created_at for e in read_model(repo, "churn").events if e.stage]
    assert dates == sorted(set(dates))  # strictly increasing with the counter
    rollback(repo, "churn", "v0.2.0")
    assert agree(repo)["churn"]["stages"] == {"production": "v0.2.0"}
    assert doctor(repo, now=1_800_000_000).healthy


_RACER = """
import sys, subprocess
from gitops_ml.registry.verbs import register
clone, i = sys.argv[1], int(sys.argv[2])
head = subprocess.run(["git", "-C", clone, "rev-parse", "HEAD"], capture_output=True,
                      text=True, check=True).stdout.strip()
print(register(clone, "churn", head, {"artifact": {"sha256": f"{i:064x}"},
      "gates_passed": True}, stage="production", push=True).version)
"""


@needs_gto
def test_racing_promotions_on_a_remote_agree_with_gto(tmp_path: Path):
    """Six promote processes race on one bare origin, each from its own clone and commit."""
    bare = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    seed = tmp_path / "seed"
    git(tmp_path, "clone", "-q", str(bare), str(seed))
    commit(seed, "initial")
    git(seed, "push", "-q", "origin", "main")
    clones = []
    for i in range(6):
        c = tmp_path / f"c{i}"
        git(tmp_path, "clone", "-q", str(bare), str(c))
        commit(c, f"merge {i}")
        git(c, "push", "-q", "origin", f"HEAD:refs/heads/b{i}")
        clones.append(c)

    def race(i: int) -> str:
        return subprocess.run([sys.executable, "-c", _RACER, str(clones[i]), str(i)],
                              capture_output=True, text=True, check=True).stdout.strip()

    with ThreadPoolExecutor(6) as pool:
        versions = list(pool.map(race, range(6)))
    assert sorted(versions, key=semver_key) == [f"v0.{i}.0" for i in range(1, 7)]
    fresh = tmp_path / "fresh"
    git(tmp_path, "clone", "-q", str(bare), str(fresh))
    state = read_model(fresh, "churn")
    last = state.events[-1]  # the highest counter
    assert agree(fresh)["churn"]["stages"] == {"production": state.stage("production").version}
    assert state.stage("production").tag == last.tag
    assert doctor(fresh).healthy


@needs_gto
def test_every_state_the_project_writes_agrees_with_gto(repo: Path):
    """register with and without a stage, two stages, rollback, deregistration with a
    fallback and with none, deprecation and reinstatement: gto show after every step."""
    c1 = git(repo, "rev-parse", "HEAD")
    register(repo, "churn", c1, manifest("1" * 64, forced=True), stage="production")
    agree(repo)
    register(repo, "churn", commit(repo), manifest("2" * 64), stage="production")
    agree(repo)
    register(repo, "churn", commit(repo), manifest("3" * 64), stage="staging")
    register(repo, "churn", commit(repo), manifest("4" * 64))
    register(repo, "fraud", commit(repo), manifest("5" * 64), stage="staging", bump="major")
    agree(repo)
    rollback(repo, "churn", "v0.3.0")
    assert agree(repo)["churn"]["stages"] == {"production": "v0.3.0", "staging": "v0.3.0"}
    d = deprecate(repo, "churn", "v0.3.0")  # falls back to v0.2.0, which passed its gates
    assert d.moved == {"production": "v0.2.0", "staging": None}
    assert agree(repo)["churn"] == {"latest": "v0.4.0", "active": True,
                                    "stages": {"production": "v0.2.0"}}
    d = deprecate(repo, "churn", "v0.2.0")  # only v0.1.0 (forced) was before it: empty
    assert d.moved == {"production": None}
    assert agree(repo)["churn"]["stages"] == {}
    deprecate(repo, "fraud")
    assert agree(repo)["fraud"]["active"] is False
    # promoting the same artifact again on a deprecated model makes it active again
    fraud = read_model(repo, "fraud").version("v1.0.0")
    r = register(repo, "fraud", fraud.commit, manifest("5" * 64), stage="staging")
    assert r.existing and r.tags == ("fraud#staging#2",)
    assert agree(repo)["fraud"] == {"latest": "v1.0.0", "active": True,
                                    "stages": {"staging": "v1.0.0"}}
    assert doctor(repo).findings == ()


# --- deregister, deprecate, rollback ------------------------------------------------------

def test_deregistering_production_never_hands_it_to_an_unevaluated_version(repo: Path):
    """v0.1.0 was forced in without gates; v0.2.0 passed them. Deregistering v0.2.0 empties
    production (explicit unassignment tags) instead of falling back to v0.1.0."""
    register(repo, "churn", git(repo, "rev-parse", "HEAD"), manifest("1" * 64, forced=True),
             stage="production")
    register(repo, "churn", commit(repo), manifest("2" * 64), stage="production")
    d = deprecate(repo, "churn", "v0.2.0")
    assert d.tags == ("churn@v0.2.0!", "churn#production!#3")
    assert d.moved == {"production": None}
    state = read_model(repo, "churn")
    assert state.stage("production") is None
    assert state.latest.version == "v0.1.0"  # still registered, just not in production


def test_deregistering_production_goes_to_the_latest_gated_holder(repo: Path):
    c1 = git(repo, "rev-parse", "HEAD")
    register(repo, "churn", c1, manifest("1" * 64), stage="production")
    register(repo, "churn", commit(repo), manifest("2" * 64, forced=True), stage="production")
    register(repo, "churn", commit(repo), manifest("3" * 64), stage="production")
    d = deprecate(repo, "churn", "v0.3.0")
    # v0.2.0 was forced: production skips it, goes to v0.1.0, and v0.2.0 is not left behind
    assert d.moved == {"production": "v0.1.0"}
    assert d.tags == ("churn@v0.3.0!", "churn#production#4")
    assert read_model(repo, "churn").stage("production").version == "v0.1.0"


def test_rollback_needs_force_for_a_version_without_passed_gates(repo: Path):
    register(repo, "churn", git(repo, "rev-parse", "HEAD"), manifest("1" * 64, forced=True),
             stage="production")
    register(repo, "churn", commit(repo), manifest("2" * 64), stage="production")
    with pytest.raises(RegistryError, match=r"churn v0\.1\.0 cannot take production: it was "
                                            r"promoted with --force") as exc:
        rollback(repo, "churn", "v0.1.0")
    assert "pass --force" in exc.value.one_line()
    ch = rollback(repo, "churn", "v0.1.0", force=True)
    assert ch.forced and ch.tags == ("churn#production#3",)
    body = git(repo, "tag", "-l", "--format=%(contents)", "churn#production#3")
    assert '"forced": true' in body and '"reason": "rollback"' in body


def test_a_deregistered_commit_is_not_registered_again(repo: Path):
    """``promote --force`` after ``deprecate --version``: it said "already registered" and
    wrote a stage tag for the deregistered version, while production stayed on the old one."""
    register(repo, "churn", git(repo, "rev-parse", "HEAD"), manifest("1" * 64),
             stage="production")
    c2 = commit(repo)
    register(repo, "churn", c2, manifest("2" * 64), stage="production")
    deprecate(repo, "churn", "v0.2.0")
    tags = git(repo, "tag", "-l")
    with pytest.raises(RegistryError, match=r"churn v0.2.0 was registered at commit \w{12} "
                                            r"and then deregistered \(tag churn@v0.2.0!\)"):
        register(repo, "churn", c2, manifest("2" * 64), stage="production")
    assert git(repo, "tag", "-l") == tags
    # a new commit takes the same artifact as a new version
    r = register(repo, "churn", commit(repo), manifest("2" * 64), stage="production")
    assert r.version == "v0.3.0" and read_model(repo, "churn").stage("production").version \
        == "v0.3.0"


def test_promoting_a_deprecated_model_again_reinstates_it(repo: Path):
    head = git(repo, "rev-parse", "HEAD")
    register(repo, "churn", head, manifest("1" * 64), stage="production")
    deprecate(repo, "churn")
    assert read_model(repo, "churn").deprecated
    r = register(repo, "churn", head, manifest("1" * 64), stage="production")
    assert r.existing and r.tags == ("churn#production#2",)
    assert not read_model(repo, "churn").deprecated
    body = git(repo, "tag", "-l", "--format=%(contents)", "churn#production#2")
    assert '"reason": "reinstate"' in body


# --- SemVer 2.0 precedence ----------------------------------------------------------------

def test_semver_precedence_is_semver_2():
    # semver.org, item 11, plus numeric identifiers of several digits
    ordered = ["v1.0.0-alpha", "v1.0.0-alpha.1", "v1.0.0-alpha.beta", "v1.0.0-beta",
               "v1.0.0-beta.2", "v1.0.0-beta.11", "v1.0.0-rc.1", "v1.0.0-rc.2",
               "v1.0.0-rc.10", "v1.0.0", "v1.0.1", "v1.2.0", "v1.10.0", "v2.0.0"]
    assert sorted(reversed(ordered), key=semver_key) == ordered
    # build metadata has no precedence: only the tie-break of a total order
    assert semver_key("v1.0.0+b")[:5] == semver_key("v1.0.0+a")[:5]


@needs_gto
def test_semver_precedence_matches_the_semver_package_gto_uses():
    versions = ["v1.0.0-rc.10", "v1.0.0-rc.2", "v1.0.0-alpha.beta", "v1.0.0", "v1.0.0-1",
                "v1.0.0-a1", "v1.0.0-rc.2.1", "v0.9.9", "v1.0.0-0.3.7", "v1.0.0-x.7.z.92"]
    code = ("import json,sys,functools\nfrom gto.versions import SemVer\n"
            "v=json.load(sys.stdin)\nprint(json.dumps(sorted(v,key=SemVer)))")
    proc = subprocess.run([str(GTO / "python"), "-c", code], input=json.dumps(versions),
                          capture_output=True, text=True, check=True)
    assert sorted(versions, key=semver_key) == json.loads(proc.stdout)


def test_latest_follows_semver_precedence(repo: Path):
    c1 = git(repo, "rev-parse", "HEAD")
    c2 = commit(repo)
    create_tags(repo, [NewTag("nn@v1.0.0-rc.10", c1, "{}"), NewTag("nn@v1.0.0-rc.2", c2, "{}")],
                WHO)
    assert read_model(repo, "nn").latest.version == "v1.0.0-rc.10"
    assert list_models(repo).models[0].latest == "v1.0.0-rc.10"


# --- folder-qualified names and full SHAs -------------------------------------------------

def test_folder_qualified_names_are_accepted_everywhere(repo: Path, gml):
    head = git(repo, "rev-parse", "HEAD")
    create_tags(repo, [NewTag("dvclive=model@v1.0.0", head, "{}"),
                       NewTag("dvclive=model#prod#1", head, "{}")], WHO)
    assert [m.name for m in list_models(repo).models] == ["dvclive:model"]
    for spelling in ("dvclive:model", "dvclive=model"):
        assert show(repo, spelling).name == "dvclive:model"
        assert show(repo, f"{spelling}#prod").version.version == "v1.0.0"
        assert show(repo, f"{spelling}@v1.0.0").version.stages == ("prod",)
        assert [e.tag for e in history(repo, spelling).events] == [
            "dvclive=model#prod#1", "dvclive=model@v1.0.0"]
        assert model_name(spelling) == "dvclive:model"
    # and written in the tag form
    r = register(repo, "dvclive:model", commit(repo), manifest("2" * 64), stage="prod")
    assert r.tags == ("dvclive=model@v1.1.0", "dvclive=model#prod#2")
    assert tag_name("deregister", "dvclive:model", version="v1.1.0") == "dvclive=model@v1.1.0!"
    out = gml("registry", "show", "dvclive=model#prod", cwd=repo)
    assert out.exit_code == 0 and out.stdout.startswith("dvclive:model v1.1.0")
    assert gml("registry", "history", "dvclive:model", cwd=repo).exit_code == 0


@needs_gto
def test_folder_qualified_names_agree_with_gto(repo: Path):
    register(repo, "dvclive:model", git(repo, "rev-parse", "HEAD"), manifest("1" * 64),
             stage="prod")
    assert agree(repo) == {"dvclive:model": {"latest": "v0.1.0", "active": True,
                                             "stages": {"prod": "v0.1.0"}}}


def test_history_names_commits_in_full(repo: Path, gml):
    """A GTO stage tag on a commit no version was registered at: the version is the commit,
    in full (GTO's own name for it), never cut to 12 characters."""
    head = git(repo, "rev-parse", "HEAD")
    git(repo, "tag", "-a", "-m", "by gto", "nn#prod")
    events = history(repo, "nn").events
    assert events[0].version == head and len(head) == 40
    out = gml("registry", "history", "nn", cwd=repo).stdout
    assert out.count(head) == 2  # the version column and the commit column


# --- through promote, as a user runs it ---------------------------------------------------

def _train_and_evaluate(repo: Path) -> None:
    from gitops_ml.evaluate.evaluation import evaluate
    from gitops_ml.project.spec import load_config
    from gitops_ml.train import train

    config = load_config(repo)
    train(config, "churn")
    evaluate(config, "churn", bootstrap=20)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return projects.committed_repo(
        tmp_path / "project", {**projects.files("churn"), ".gitignore": ".gitops-ml/\n"})


def test_cli_promote_force_after_deregistering(project: Path, gml):
    _train_and_evaluate(project)
    assert gml("promote", "churn", cwd=project).exit_code == 0
    spec = project / "models" / "churn" / "model.yaml"
    spec.write_text(spec.read_text().replace("C: 1.0", "C: 0.3"))
    git(project, "commit", "-qam", "C=0.3")
    _train_and_evaluate(project)
    assert gml("promote", "churn", cwd=project).exit_code == 0
    r = gml("deprecate", "churn", "v0.2.0", cwd=project)
    assert r.exit_code == 0 and "production: v0.2.0 -> v0.1.0" in r.stdout
    r = gml("promote", "churn", "--force", cwd=project)
    assert r.exit_code == ExitCode.REGISTRY, r.stdout
    assert "churn v0.2.0 was registered at commit" in r.stderr
    assert "already registered" not in r.stdout
    listed = gml("registry", "list", "-o", "json", cwd=project).json()["result"]["models"]
    assert listed[0]["stages"] == {"production": "v0.1.0"}
    git(project, "commit", "-q", "--allow-empty", "-m", "promote again")
    r = gml("promote", "churn", "--force", cwd=project)
    assert r.exit_code == 0 and "churn v0.3.0 registered" in r.stdout, r.stderr


def test_cli_promote_fails_when_a_future_dated_tag_holds_production(project: Path, gml):
    _train_and_evaluate(project)
    assert gml("promote", "churn", cwd=project).exit_code == 0
    v1 = read_model(project, "churn").version("v0.1.0")
    create_tags(project, [NewTag("churn#production#2", v1.commit, "{}")], WHO, now=FUTURE)
    git(project, "commit", "-q", "--allow-empty", "-m", "merge")
    spec = project / "models" / "churn" / "model.yaml"
    spec.write_text(spec.read_text().replace("C: 1.0", "C: 0.3"))
    git(project, "commit", "-qam", "C=0.3")
    _train_and_evaluate(project)
    r = gml("promote", "churn", cwd=project)
    assert r.exit_code == ExitCode.REGISTRY
    assert "churn production is v0.2.0 by the tag counters, but v0.1.0 by tagger date" \
        in r.stderr
    assert "registry doctor churn" in r.stderr


# --- the gate record as registry show renders it ------------------------------------------

def test_registry_show_renders_each_gate_and_what_force_overrode(repo: Path, gml):
    gates = [
        {"gate": "roc_auc >= 0.99", "kind": "metric", "subject": "roc_auc", "value": 0.912,
         "threshold": {"min": 0.99}, "passed": False, "skipped": False,
         "note": "0.912 < min 0.99"},
        {"gate": "share_of_drifted_columns <= 0.3", "kind": "drift",
         "subject": "share_of_drifted_columns", "value": None, "threshold": {"max": 0.3},
         "passed": None, "skipped": True, "note": "evaluated by drift"},
        {"gate": "f1 >= 0.5", "kind": "metric", "subject": "f1", "value": 0.81,
         "threshold": {"min": 0.5}, "passed": True, "skipped": False},
    ]
    register(repo, "churn", git(repo, "rev-parse", "HEAD"),
             manifest("1" * 64, gates=gates, gates_passed=False, forced=True),
             stage="production")
    register(repo, "churn", commit(repo), manifest("2" * 64, gates=[], gates_passed=None,
                                                   forced=True))
    out = gml("registry", "show", "churn#production", cwd=repo).stdout.splitlines()
    i = out.index("gates: FAILED")
    assert out[i + 1:i + 5] == [
        "  FAIL    roc_auc >= 0.99: value 0.912, threshold min 0.99 (0.912 < min 0.99)",
        "  skip    share_of_drifted_columns <= 0.3: value -, threshold max 0.3 "
        "(evaluated by drift)",
        "  pass    f1 >= 0.5: value 0.81, threshold min 0.5",
        "forced: --force overrode roc_auc >= 0.99"]
    out = gml("registry", "show", "churn@v0.2.0", cwd=repo).stdout.splitlines()
    assert out[-2:] == ["gates: not recorded (no gate recorded)",
                        "forced: --force promoted it without a recorded evaluation"]


def test_a_reinstated_model_can_be_deprecated_again(repo: Path):
    head = git(repo, "rev-parse", "HEAD")
    register(repo, "churn", head, manifest("1" * 64), stage="production")
    deprecate(repo, "churn")
    register(repo, "churn", head, manifest("1" * 64), stage="production")  # reinstated
    # the simple name churn@deprecated is taken: GTO's grammar allows a counter on it
    assert deprecate(repo, "churn").tags == ("churn@deprecated#3",)
    assert read_model(repo, "churn").deprecated
    if (GTO / "gto").exists():
        assert agree(repo)["churn"]["active"] is False
