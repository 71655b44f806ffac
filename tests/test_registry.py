"""The Git-tag registry: GTO's grammar, reading in one call, racing writers on a bare remote."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from gitops_ml.errors import GitError, RegistryError, TagExistsError
from gitops_ml.registry.events import read_events
from gitops_ml.registry.queries import history, list_models, show
from gitops_ml.registry.state import read_model, read_state
from gitops_ml.registry.tags import ParsedTag, bump_version, parse_tag, semver_key, tag_name
from gitops_ml.registry.verbs import deprecate, register, rollback
from gitops_ml.registry.writes import Identity, NewTag, create_tags

ROOT = Path(__file__).resolve().parents[1]
# gto is in the test extra; the benchmark's own venv is the fallback on a hand-made setup.
_VENV_BIN = Path(sys.executable).parent
GTO = _VENV_BIN if (_VENV_BIN / "gto").exists() else ROOT / "benchmarks/.work/gto-venv/bin"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def commit(repo: Path, msg: str = "c") -> str:
    git(repo, "commit", "-q", "--allow-empty", "-m", msg)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    r = tmp_path / "repo"
    r.mkdir()
    git(r, "init", "-q", "-b", "main")
    commit(r, "initial")
    return r


@pytest.fixture
def remote(tmp_path: Path, repo: Path) -> Path:
    bare = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(repo, "remote", "add", "origin", str(bare))
    git(repo, "push", "-q", "origin", "main")
    return bare


def manifest(sha: str = "a" * 64, **extra: object) -> dict:
    return {"schema": "gitops-ml/manifest", "model": "churn", "artifact": {"sha256": sha},
            "run_key": "b" * 64, "gates_passed": True, "forced": False, **extra}


# --- grammar ------------------------------------------------------------------------------

# Vectors from GTO's documentation (README "Getting started", user guide) and its tests.
GTO_DOC_VECTORS = [
    ("awesome-model@v0.0.1", "register", "awesome-model", "v0.0.1", None, None),
    ("awesome-model@v0.0.1!", "deregister", "awesome-model", "v0.0.1", None, None),
    ("awesome-model#prod#1", "assign", "awesome-model", None, "prod", 1),
    ("awesome-model#prod!#2", "unassign", "awesome-model", None, "prod", 2),
    ("awesome-model@deprecated", "deprecate", "awesome-model", None, None, None),
    ("churn@v3.1.1", "register", "churn", "v3.1.1", None, None),
    ("churn#prod#4", "assign", "churn", None, "prod", 4),
    ("rf@v1.0.0", "register", "rf", "v1.0.0", None, None),
    ("rf#production", "assign", "rf", None, "production", None),  # GTO's --simple notation
    ("rf#production!", "unassign", "rf", None, "production", None),
    ("nn@v1.0.0-rc.1+build.5", "register", "nn", "v1.0.0-rc.1+build.5", None, None),
    ("dvclive=model@v1.0.0", "register", "dvclive:model", "v1.0.0", None, None),
    ("namespace/model#dev#12", "assign", "namespace/model", None, "dev", 12),
    ("model@deprecated#3", "deprecate", "model", None, None, 3),
]

NOT_TAGS = ["v1.0.0", "model", "model@1.0.0", "model@v1.0", "model#", "-model@v1.0.0",
            "model-@v1.0.0", "model#prod#x", "model@v01.0.0", "model#prod##1", "model @v1.0.0",
            "model@latest"]


@pytest.mark.parametrize("tag,action,name,version,stage,counter", GTO_DOC_VECTORS)
def test_parse_gto_documented_tags(tag, action, name, version, stage, counter):
    parsed = parse_tag(tag)
    assert parsed == ParsedTag(action=action, name=name, version=version, stage=stage,
                                   counter=counter)


@pytest.mark.parametrize("tag", NOT_TAGS)
def test_non_registry_tags_do_not_parse(tag):
    assert parse_tag(tag) is None


def test_templates_round_trip():
    assert tag_name("register", "churn", version="v1.3.0") == "churn@v1.3.0"
    assert tag_name("deregister", "churn", version="v1.3.0") == "churn@v1.3.0!"
    assert tag_name("assign", "churn", stage="production", counter=7) == \
        "churn#production#7"
    assert tag_name("unassign", "churn", stage="production", counter=8) == \
        "churn#production!#8"
    assert tag_name("deprecate", "churn") == "churn@deprecated"
    for action in ("register", "deregister", "assign", "unassign", "deprecate"):
        tag = tag_name(action, "m-1", version="v2.0.0", stage="stg", counter=3)
        assert parse_tag(tag).action == action


@pytest.mark.parametrize("name", ["churn-", "-churn", "a model", "m@1", "m#1", ""])
def test_invalid_names_are_refused(name):
    with pytest.raises(RegistryError, match="invalid model name"):
        tag_name("register", name, version="v1.0.0")


def test_bump():
    assert bump_version(None, "minor") == "v0.1.0"
    assert bump_version(None, "major") == "v1.0.0"
    assert bump_version(None, "patch") == "v0.0.1"
    assert bump_version("v1.9.3", "minor") == "v1.10.0"
    assert bump_version("v1.9.3", "major") == "v2.0.0"
    assert bump_version("v1.9.3", "patch") == "v1.9.4"
    assert sorted(["v1.10.0", "v1.9.0", "v1.10.0-rc.1"], key=semver_key) == \
        ["v1.9.0", "v1.10.0-rc.1", "v1.10.0"]
    with pytest.raises(RegistryError, match="unknown bump 'huge'"):
        bump_version("v1.0.0", "huge")


@pytest.mark.skipif(not (GTO / "python").exists(),
                    reason="gto is not installed (pip install -e '.[test]')")
def test_grammar_agrees_with_gto_itself():
    """GTO's own parse_name is the oracle for every vector, valid or not."""
    tags = [v[0] for v in GTO_DOC_VECTORS] + NOT_TAGS + [
        tag_name("assign", "a_b/c", stage="x-y", counter=10)]
    code = ("import json,sys\nfrom gto.tag import parse_name\n"
            "out=[]\nfor t in json.load(sys.stdin):\n p=parse_name(t, raise_on_fail=False)\n"
            " out.append({k:(v.value if hasattr(v,'value') else v) for k,v in p.items()})\n"
            "print(json.dumps(out))")
    proc = subprocess.run([str(GTO / "python"), "-c", code], input=json.dumps(tags),
                          capture_output=True, text=True, check=True)
    for tag, theirs in zip(tags, json.loads(proc.stdout), strict=True):
        ours = parse_tag(tag)
        if not theirs:
            assert ours is None, tag
            continue
        assert ours is not None, tag
        assert ours.action == theirs["action"], tag
        assert ours.name == theirs["name"], tag
        assert ours.version == theirs.get("version"), tag
        assert ours.stage == theirs.get("stage"), tag
        assert ours.counter == theirs.get("counter"), tag


# --- reading and state --------------------------------------------------------------------

def test_register_assign_and_read_back(repo: Path):
    c1 = git(repo, "rev-parse", "HEAD")
    r1 = register(repo, "churn", c1, manifest("1" * 64), stage="production")
    assert r1.version == "v0.1.0"
    assert r1.tags == ("churn@v0.1.0", "churn#production#1")
    assert not r1.pushed
    c2 = commit(repo)
    r2 = register(repo, "churn", c2, manifest("2" * 64), stage="production", bump="major")
    assert r2.version == "v1.0.0" and r2.tags[1] == "churn#production#2"
    state = read_model(repo, "churn")
    assert [v.version for v in state.versions] == ["v1.0.0", "v0.1.0"]
    assert state.stage("production").version == "v1.0.0"
    assert state.version("v0.1.0").manifest["artifact"]["sha256"] == "1" * 64
    assert state.version("v1.0.0").manifest["version"] == "v1.0.0"
    # the message is annotated: a subject line, then the JSON manifest
    assert git(repo, "tag", "-l", "--format=%(contents:subject)", "churn@v1.0.0").startswith(
        "Register churn v1.0.0")
    assert git(repo, "cat-file", "-t", "churn@v1.0.0") == "tag"


def test_same_artifact_same_commit_is_idempotent(repo: Path):
    c1 = git(repo, "rev-parse", "HEAD")
    register(repo, "churn", c1, manifest(), stage="production")
    again = register(repo, "churn", c1, manifest(), stage="production")
    assert again.existing and again.tags == () and again.version == "v0.1.0"
    with pytest.raises(RegistryError, match="already registered at commit"):
        register(repo, "churn", c1, manifest("9" * 64))


def test_rollback_adds_a_stage_tag_and_history_keeps_it(repo: Path):
    register(repo, "churn", git(repo, "rev-parse", "HEAD"), manifest("1" * 64),
                 stage="production")
    register(repo, "churn", commit(repo), manifest("2" * 64), stage="production")
    change = rollback(repo, "churn", "v0.1.0", "production", actor="alice")
    assert change.previous == "v0.2.0" and change.tags == ("churn#production#3",)
    assert read_model(repo, "churn").stage("production").version == "v0.1.0"
    hist = history(repo, "churn")
    assert [e.tag for e in hist.events][:1] == ["churn#production#3"]
    assert hist.events[0].version == "v0.1.0"  # the stage tag's version, read by commit
    assert len(hist.events) == 5
    # rolling back to what is already there writes nothing
    assert rollback(repo, "churn", "v0.1.0", "production").tags == ()
    with pytest.raises(RegistryError, match=r"has no version v9\.0\.0"):
        rollback(repo, "churn", "v9.0.0")


def test_deregister_and_deprecate(repo: Path):
    register(repo, "churn", git(repo, "rev-parse", "HEAD"), manifest("1" * 64),
                 stage="production")
    register(repo, "churn", commit(repo), manifest("2" * 64), stage="production")
    d = deprecate(repo, "churn", "v0.2.0")
    # a deregistered version loses its stage; production goes back to v0.1.0, which passed
    # its gates, with an explicit assignment in the same write (GTO would fall back to it
    # implicitly)
    assert d.tags == ("churn@v0.2.0!", "churn#production#3")
    assert d.moved == {"production": "v0.1.0"}
    state = read_model(repo, "churn")
    assert not state.version("v0.2.0").active
    assert state.latest.version == "v0.1.0"
    assert state.stage("production").version == "v0.1.0"
    # the next version never reuses a deregistered number
    assert register(repo, "churn", commit(repo), manifest("3" * 64)).version == "v0.3.0"
    with pytest.raises(RegistryError, match="already deregistered"):
        deprecate(repo, "churn", "v0.2.0")
    assert deprecate(repo, "churn").tags == ("churn@deprecated",)
    assert read_model(repo, "churn").deprecated
    with pytest.raises(RegistryError, match="already deprecated"):
        deprecate(repo, "churn")


def test_show_references_and_errors(repo: Path):
    register(repo, "churn", git(repo, "rev-parse", "HEAD"), manifest(), stage="staging")
    assert show(repo, "churn#staging").version.version == "v0.1.0"
    assert show(repo, "churn@v0.1.0").version.stages == ("staging",)
    assert show(repo, "churn@latest").version.version == "v0.1.0"
    assert show(repo, "churn").name == "churn"
    with pytest.raises(RegistryError, match="no version in stage 'production'") as exc:
        show(repo, "churn#production")
    assert "stages with a version: staging" in exc.value.one_line()
    with pytest.raises(RegistryError, match="model 'fraud' has no versions"):
        show(repo, "fraud")
    with pytest.raises(RegistryError, match="cannot parse 'churn@1'"):
        show(repo, "churn@1")


def test_reading_ignores_foreign_and_lightweight_tags(repo: Path):
    git(repo, "tag", "v1.0.0")  # a release tag of the project
    git(repo, "tag", "churn@v5.0.0")  # lightweight: GTO ignores it, so do we
    git(repo, "tag", "-a", "-m", "not json", "fraud@v1.0.0")  # GTO-written, no manifest
    state = read_state(repo)
    assert [m.name for m in state.models] == ["fraud"]
    assert state.models[0].versions[0].manifest is None
    listed = list_models(repo)
    assert listed.models[0].latest == "v1.0.0"


def test_outside_a_git_repository_is_a_clear_error(tmp_path: Path):
    with pytest.raises(RegistryError, match="is not in a Git repository"):
        list_models(tmp_path)


def test_model_filter_does_not_leak_prefixes(repo: Path):
    head = git(repo, "rev-parse", "HEAD")
    register(repo, "churn", head, manifest())
    register(repo, "churn-eu", head, manifest(), stage="a/b")
    assert [e.tag for e in read_events(repo, "churn")] == ["churn@v0.1.0"]
    assert {e.tag for e in read_events(repo, "churn-eu")} == {"churn-eu@v0.1.0",
                                                                  "churn-eu#a/b#1"}


def test_stage_ties_in_the_same_second_follow_the_counter(repo: Path):
    who = Identity("t", "t@example.com")
    c1 = git(repo, "rev-parse", "HEAD")
    c2 = commit(repo)
    create_tags(repo, [NewTag("m@v1.0.0", c1, "{}"), NewTag("m@v2.0.0", c2, "{}"),
                           NewTag("m#prod#2", c1, "{}"), NewTag("m#prod#1", c2, "{}")],
                    who, now=1_700_000_000)
    assert read_model(repo, "m").stage("prod").version == "v1.0.0"


def test_create_tags_is_all_or_nothing(repo: Path):
    head = git(repo, "rev-parse", "HEAD")
    git(repo, "tag", "-a", "-m", "x", "m@v2.0.0")
    with pytest.raises(TagExistsError):
        create_tags(repo, [NewTag("m@v1.0.0", head, "{}"),
                               NewTag("m@v2.0.0", head, "{}")])
    assert git(repo, "tag", "-l", "m@v1.0.0") == ""


# --- pushing to a real bare remote --------------------------------------------------------

def test_push_and_fetch_through_origin(repo: Path, remote: Path):
    r = register(repo, "churn", git(repo, "rev-parse", "HEAD"), manifest(),
                     stage="production")
    assert r.pushed
    assert set(git(remote, "tag", "-l").split()) == {"churn@v0.1.0", "churn#production#1"}


def test_explicit_push_without_origin_is_a_clear_error(repo: Path):
    with pytest.raises(RegistryError, match="no remote 'origin'"):
        register(repo, "churn", git(repo, "rev-parse", "HEAD"), manifest(), push=True)


def test_unreachable_remote_leaves_nothing_behind(repo: Path, remote: Path, tmp_path: Path):
    git(repo, "remote", "set-url", "origin", str(tmp_path / "gone.git"))
    with pytest.raises(GitError, match="cannot fetch tags from 'origin'"):
        register(repo, "churn", git(repo, "rev-parse", "HEAD"), manifest(),
                     stage="production")
    assert git(repo, "tag", "-l") == ""


def test_push_failure_removes_the_local_tags(repo: Path, remote: Path):
    # fetch works, push is refused by the remote: a pre-receive hook stands for any failure
    hook = remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'denied by policy' >&2\nexit 1\n")
    hook.chmod(0o755)
    with pytest.raises(GitError, match="cannot push tags to 'origin'"):
        register(repo, "churn", git(repo, "rev-parse", "HEAD"), manifest(),
                     stage="production")
    assert git(repo, "tag", "-l") == ""
    assert git(remote, "tag", "-l") == ""


def test_a_lost_race_takes_the_next_version(repo: Path, remote: Path, tmp_path: Path):
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(remote), str(other))
    git(other, "commit", "-q", "--allow-empty", "-m", "their merge")
    git(other, "push", "-q", "origin", "main")
    theirs = register(other, "churn", git(other, "rev-parse", "HEAD"), manifest("1" * 64),
                          stage="production")
    # ours has not fetched: it computes v0.1.0 and #1 too, is rejected, and retries
    ours = register(repo, "churn", commit(repo, "our merge"), manifest("2" * 64),
                        stage="production")
    assert theirs.version == "v0.1.0" and ours.version == "v0.2.0"
    assert ours.attempts >= 1
    tags = set(git(remote, "tag", "-l").split())
    assert tags == {"churn@v0.1.0", "churn#production#1", "churn@v0.2.0",
                    "churn#production#2"}
    # the existing remote tag was never overwritten
    assert git(remote, "rev-parse", "churn@v0.1.0^{commit}") == git(other, "rev-parse", "HEAD")


_RACER = """
import sys
from gitops_ml.registry.verbs import register
clone, i = sys.argv[1], int(sys.argv[2])
import subprocess
head = subprocess.run(["git", "-C", clone, "rev-parse", "HEAD"], capture_output=True,
                      text=True, check=True).stdout.strip()
r = register(clone, "churn", head, {"artifact": {"sha256": f"{i:064x}"}},
                 stage="production")
print(r.version, r.attempts)
"""


@pytest.mark.slow
def test_twenty_concurrent_promotions(repo: Path, remote: Path, tmp_path: Path):
    clones = []
    for i in range(20):
        c = tmp_path / f"clone{i}"
        git(tmp_path, "clone", "-q", str(remote), str(c))
        git(c, "commit", "-q", "--allow-empty", "-m", f"merge {i}")
        clones.append(c)

    def race(i: int) -> str:
        proc = subprocess.run([sys.executable, "-c", _RACER, str(clones[i]), str(i)],
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.split()[0]

    with ThreadPoolExecutor(max_workers=20) as pool:
        versions = list(pool.map(race, range(20)))
    assert len(set(versions)) == 20
    assert sorted(versions, key=semver_key) == [f"v0.{i}.0" for i in range(1, 21)]
    tags = git(remote, "tag", "-l").split()
    assert len(tags) == 40
    counters = sorted(int(t.rsplit("#", 1)[1]) for t in tags if "#" in t)
    assert counters == list(range(1, 21))
    # the registry read from a fresh clone is consistent: every version is there with its
    # own artifact, and production holds the last one registered
    fresh = tmp_path / "fresh"
    git(tmp_path, "clone", "-q", str(remote), str(fresh))
    state = read_model(fresh, "churn")
    shas = {v.manifest["artifact"]["sha256"] for v in state.versions}
    assert len(shas) == 20
    assert state.stage("production").version == "v0.20.0"


@pytest.mark.skipif(not (GTO / "gto").exists(),
                    reason="gto is not installed (pip install -e '.[test]')")
def test_gto_show_reads_a_gitops_ml_registry(repo: Path):
    """Interop: GTO itself sees the same latest versions and stages as we do."""
    register(repo, "churn", git(repo, "rev-parse", "HEAD"), manifest("1" * 64),
                 stage="production")
    register(repo, "churn", commit(repo), manifest("2" * 64), stage="production")
    register(repo, "churn", commit(repo), manifest("3" * 64), stage="staging")
    register(repo, "fraud", commit(repo), manifest("4" * 64), stage="staging", bump="major")
    rollback(repo, "churn", "v0.1.0", "production")
    deprecate(repo, "churn", "v0.3.0")
    proc = subprocess.run([str(GTO / "gto"), "show", "--json"], cwd=repo, capture_output=True,
                          text=True, check=True)
    theirs = json.loads(proc.stdout)
    ours = list_models(repo)
    assert set(theirs) == {m.name for m in ours.models} == {"churn", "fraud"}
    for m in ours.models:
        assert theirs[m.name]["version"] == m.latest
        assert {s: v for s, v in theirs[m.name]["stage"].items() if v} == m.stages
    assert theirs["churn"] == {"version": "v0.2.0", "registered": True, "active": True,
                               "stage": {"production": "v0.1.0", "staging": None}}


def test_list_cache_follows_every_tag_change(repo: Path):
    head = git(repo, "rev-parse", "HEAD")
    register(repo, "churn", head, manifest("1" * 64), stage="production")
    first = list_models(repo)
    cache = repo / ".git" / "gitops-ml" / "registry-list.json"
    assert cache.is_file() and first == list_models(repo, cache=False)
    # a new version, a rollback and a deleted tag each change the answer
    register(repo, "churn", commit(repo), manifest("2" * 64), stage="production")
    assert list_models(repo).models[0].stages == {"production": "v0.2.0"}
    rollback(repo, "churn", "v0.1.0")
    assert list_models(repo).models[0].stages == {"production": "v0.1.0"}
    git(repo, "tag", "-d", "churn#production#3")
    assert list_models(repo).models[0].stages == {"production": "v0.2.0"}
    # a damaged cache is ignored and rewritten
    cache.write_text("{not json")
    assert list_models(repo) == list_models(repo, cache=False)
    assert json.loads(cache.read_text())["models"][0]["latest"] == "v0.2.0"


def test_gto_simple_stage_tags_without_a_version_are_read(repo: Path):
    """GTO's --simple notation, on a commit no version was registered at: GTO "discovers" a
    version named by the commit, and so do we."""
    head = git(repo, "rev-parse", "HEAD")
    git(repo, "tag", "-a", "-m", "by gto", "nn#prod")
    state = read_model(repo, "nn")
    assert state.stage("prod").version == head
    assert state.latest is None and not state.versions[0].registered
    register(repo, "nn", commit(repo), manifest())
    assert read_model(repo, "nn").latest.version == "v0.1.0"
