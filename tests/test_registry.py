"""The Git-tag registry: GTO's grammar, reading in one call, racing writers on a bare remote."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from gitops_ml.errors import GitError, RegistryError
from gitops_ml.registry import registry as reg

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
            "run_key": "b" * 64, **extra}


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
    parsed = reg.parse_tag(tag)
    assert parsed == reg.ParsedTag(action=action, name=name, version=version, stage=stage,
                                   counter=counter)


@pytest.mark.parametrize("tag", NOT_TAGS)
def test_non_registry_tags_do_not_parse(tag):
    assert reg.parse_tag(tag) is None


def test_templates_round_trip():
    assert reg.tag_name("register", "churn", version="v1.3.0") == "churn@v1.3.0"
    assert reg.tag_name("deregister", "churn", version="v1.3.0") == "churn@v1.3.0!"
    assert reg.tag_name("assign", "churn", stage="production", counter=7) == \
        "churn#production#7"
    assert reg.tag_name("unassign", "churn", stage="production", counter=8) == \
        "churn#production!#8"
    assert reg.tag_name("deprecate", "churn") == "churn@deprecated"
    for action in ("register", "deregister", "assign", "unassign", "deprecate"):
        tag = reg.tag_name(action, "m-1", version="v2.0.0", stage="stg", counter=3)
        assert reg.parse_tag(tag).action == action


@pytest.mark.parametrize("name", ["churn-", "-churn", "a model", "m@1", "m#1", ""])
def test_invalid_names_are_refused(name):
    with pytest.raises(RegistryError, match="invalid model name"):
        reg.tag_name("register", name, version="v1.0.0")


def test_bump():
    assert reg.bump_version(None, "minor") == "v0.1.0"
    assert reg.bump_version(None, "major") == "v1.0.0"
    assert reg.bump_version(None, "patch") == "v0.0.1"
    assert reg.bump_version("v1.9.3", "minor") == "v1.10.0"
    assert reg.bump_version("v1.9.3", "major") == "v2.0.0"
    assert reg.bump_version("v1.9.3", "patch") == "v1.9.4"
    assert sorted(["v1.10.0", "v1.9.0", "v1.10.0-rc.1"], key=reg.semver_key) == \
        ["v1.9.0", "v1.10.0-rc.1", "v1.10.0"]
    with pytest.raises(RegistryError, match="unknown bump 'huge'"):
        reg.bump_version("v1.0.0", "huge")


@pytest.mark.skipif(not (GTO / "python").exists(),
                    reason="gto is not installed (pip install -e '.[test]')")
def test_grammar_agrees_with_gto_itself():
    """GTO's own parse_name is the oracle for every vector, valid or not."""
    tags = [v[0] for v in GTO_DOC_VECTORS] + NOT_TAGS + [
        reg.tag_name("assign", "a_b/c", stage="x-y", counter=10)]
    code = ("import json,sys\nfrom gto.tag import parse_name\n"
            "out=[]\nfor t in json.load(sys.stdin):\n p=parse_name(t, raise_on_fail=False)\n"
            " out.append({k:(v.value if hasattr(v,'value') else v) for k,v in p.items()})\n"
            "print(json.dumps(out))")
    proc = subprocess.run([str(GTO / "python"), "-c", code], input=json.dumps(tags),
                          capture_output=True, text=True, check=True)
    for tag, theirs in zip(tags, json.loads(proc.stdout), strict=True):
        ours = reg.parse_tag(tag)
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
    r1 = reg.register(repo, "churn", c1, manifest("1" * 64), stage="production")
    assert r1.version == "v0.1.0"
    assert r1.tags == ("churn@v0.1.0", "churn#production#1")
    assert not r1.pushed
    c2 = commit(repo)
    r2 = reg.register(repo, "churn", c2, manifest("2" * 64), stage="production", bump="major")
    assert r2.version == "v1.0.0" and r2.tags[1] == "churn#production#2"
    state = reg.read_model(repo, "churn")
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
    reg.register(repo, "churn", c1, manifest(), stage="production")
    again = reg.register(repo, "churn", c1, manifest(), stage="production")
    assert again.existing and again.tags == () and again.version == "v0.1.0"
    with pytest.raises(RegistryError, match="already registered at commit"):
        reg.register(repo, "churn", c1, manifest("9" * 64))


def test_rollback_adds_a_stage_tag_and_history_keeps_it(repo: Path):
    reg.register(repo, "churn", git(repo, "rev-parse", "HEAD"), manifest("1" * 64),
                 stage="production")
    reg.register(repo, "churn", commit(repo), manifest("2" * 64), stage="production")
    change = reg.rollback(repo, "churn", "v0.1.0", "production", actor="alice")
    assert change.previous == "v0.2.0" and change.tags == ("churn#production#3",)
    assert reg.read_model(repo, "churn").stage("production").version == "v0.1.0"
    hist = reg.history(repo, "churn")
    assert [e.tag for e in hist.events][:1] == ["churn#production#3"]
    assert hist.events[0].version == "v0.1.0"  # the stage tag's version, read by commit
    assert len(hist.events) == 5
    # rolling back to what is already there writes nothing
    assert reg.rollback(repo, "churn", "v0.1.0", "production").tags == ()
    with pytest.raises(RegistryError, match=r"has no version v9\.0\.0"):
        reg.rollback(repo, "churn", "v9.0.0")


def test_deregister_and_deprecate(repo: Path):
    reg.register(repo, "churn", git(repo, "rev-parse", "HEAD"), manifest("1" * 64),
                 stage="production")
    reg.register(repo, "churn", commit(repo), manifest("2" * 64), stage="production")
    d = reg.deprecate(repo, "churn", "v0.2.0")
    assert d.tags == ("churn@v0.2.0!",)
    state = reg.read_model(repo, "churn")
    assert not state.version("v0.2.0").active
    assert state.latest.version == "v0.1.0"
    # a deregistered version loses its stage: production falls back to v0.1.0 (GTO's rule)
    assert state.stage("production").version == "v0.1.0"
    # the next version never reuses a deregistered number
    assert reg.register(repo, "churn", commit(repo), manifest("3" * 64)).version == "v0.3.0"
    with pytest.raises(RegistryError, match="already deregistered"):
        reg.deprecate(repo, "churn", "v0.2.0")
    assert reg.deprecate(repo, "churn").tags == ("churn@deprecated",)
    assert reg.read_model(repo, "churn").deprecated
    with pytest.raises(RegistryError, match="already deprecated"):
        reg.deprecate(repo, "churn")


def test_show_references_and_errors(repo: Path):
    reg.register(repo, "churn", git(repo, "rev-parse", "HEAD"), manifest(), stage="staging")
    assert reg.show(repo, "churn#staging").version.version == "v0.1.0"
    assert reg.show(repo, "churn@v0.1.0").version.stages == ("staging",)
    assert reg.show(repo, "churn@latest").version.version == "v0.1.0"
    assert reg.show(repo, "churn").name == "churn"
    with pytest.raises(RegistryError, match="no version in stage 'production'") as exc:
        reg.show(repo, "churn#production")
    assert "stages with a version: staging" in exc.value.one_line()
    with pytest.raises(RegistryError, match="model 'fraud' has no versions"):
        reg.show(repo, "fraud")
    with pytest.raises(RegistryError, match="cannot parse 'churn@1'"):
        reg.show(repo, "churn@1")


def test_reading_ignores_foreign_and_lightweight_tags(repo: Path):
    git(repo, "tag", "v1.0.0")  # a release tag of the project
    git(repo, "tag", "churn@v5.0.0")  # lightweight: GTO ignores it, so do we
    git(repo, "tag", "-a", "-m", "not json", "fraud@v1.0.0")  # GTO-written, no manifest
    state = reg.read_state(repo)
    assert [m.name for m in state.models] == ["fraud"]
    assert state.models[0].versions[0].manifest is None
    listed = reg.list_models(repo)
    assert listed.models[0].latest == "v1.0.0"


def test_outside_a_git_repository_is_a_clear_error(tmp_path: Path):
    with pytest.raises(RegistryError, match="is not in a Git repository"):
        reg.list_models(tmp_path)


def test_model_filter_does_not_leak_prefixes(repo: Path):
    head = git(repo, "rev-parse", "HEAD")
    reg.register(repo, "churn", head, manifest())
    reg.register(repo, "churn-eu", head, manifest(), stage="a/b")
    assert [e.tag for e in reg.read_events(repo, "churn")] == ["churn@v0.1.0"]
    assert {e.tag for e in reg.read_events(repo, "churn-eu")} == {"churn-eu@v0.1.0",
                                                                  "churn-eu#a/b#1"}


def test_stage_ties_in_the_same_second_follow_the_counter(repo: Path):
    who = reg.Identity("t", "t@example.com")
    c1 = git(repo, "rev-parse", "HEAD")
    c2 = commit(repo)
    reg.create_tags(repo, [reg.NewTag("m@v1.0.0", c1, "{}"), reg.NewTag("m@v2.0.0", c2, "{}"),
                           reg.NewTag("m#prod#2", c1, "{}"), reg.NewTag("m#prod#1", c2, "{}")],
                    who, now=1_700_000_000)
    assert reg.read_model(repo, "m").stage("prod").version == "v1.0.0"


def test_create_tags_is_all_or_nothing(repo: Path):
    head = git(repo, "rev-parse", "HEAD")
    git(repo, "tag", "-a", "-m", "x", "m@v2.0.0")
    with pytest.raises(reg.TagExistsError):
        reg.create_tags(repo, [reg.NewTag("m@v1.0.0", head, "{}"),
                               reg.NewTag("m@v2.0.0", head, "{}")])
    assert git(repo, "tag", "-l", "m@v1.0.0") == ""


# --- pushing to a real bare remote --------------------------------------------------------

def test_push_and_fetch_through_origin(repo: Path, remote: Path):
    r = reg.register(repo, "churn", git(repo, "rev-parse", "HEAD"), manifest(),
                     stage="production")
    assert r.pushed
    assert set(git(remote, "tag", "-l").split()) == {"churn@v0.1.0", "churn#production#1"}


def test_explicit_push_without_origin_is_a_clear_error(repo: Path):
    with pytest.raises(RegistryError, match="no remote 'origin'"):
        reg.register(repo, "churn", git(repo, "rev-parse", "HEAD"), manifest(), push=True)


def test_unreachable_remote_leaves_nothing_behind(repo: Path, remote: Path, tmp_path: Path):
    git(repo, "remote", "set-url", "origin", str(tmp_path / "gone.git"))
    with pytest.raises(GitError, match="cannot fetch tags from 'origin'"):
        reg.register(repo, "churn", git(repo, "rev-parse", "HEAD"), manifest(),
                     stage="production")
    assert git(repo, "tag", "-l") == ""


def test_push_failure_removes_the_local_tags(repo: Path, remote: Path):
    # fetch works, push is refused by the remote: a pre-receive hook stands for any failure
    hook = remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'denied by policy' >&2\nexit 1\n")
    hook.chmod(0o755)
    with pytest.raises(GitError, match="cannot push tags to 'origin'"):
        reg.register(repo, "churn", git(repo, "rev-parse", "HEAD"), manifest(),
                     stage="production")
    assert git(repo, "tag", "-l") == ""
    assert git(remote, "tag", "-l") == ""


def test_a_lost_race_takes_the_next_version(repo: Path, remote: Path, tmp_path: Path):
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(remote), str(other))
    git(other, "commit", "-q", "--allow-empty", "-m", "their merge")
    git(other, "push", "-q", "origin", "main")
    theirs = reg.register(other, "churn", git(other, "rev-parse", "HEAD"), manifest("1" * 64),
                          stage="production")
    # ours has not fetched: it computes v0.1.0 and #1 too, is rejected, and retries
    ours = reg.register(repo, "churn", commit(repo, "our merge"), manifest("2" * 64),
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
from gitops_ml.registry import registry as reg
clone, i = sys.argv[1], int(sys.argv[2])
import subprocess
head = subprocess.run(["git", "-C", clone, "rev-parse", "HEAD"], capture_output=True,
                      text=True, check=True).stdout.strip()
r = reg.register(clone, "churn", head, {"artifact": {"sha256": f"{i:064x}"}},
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
    assert sorted(versions, key=reg.semver_key) == [f"v0.{i}.0" for i in range(1, 21)]
    tags = git(remote, "tag", "-l").split()
    assert len(tags) == 40
    counters = sorted(int(t.rsplit("#", 1)[1]) for t in tags if "#" in t)
    assert counters == list(range(1, 21))
    # the registry read from a fresh clone is consistent: every version is there with its
    # own artifact, and production holds the last one registered
    fresh = tmp_path / "fresh"
    git(tmp_path, "clone", "-q", str(remote), str(fresh))
    state = reg.read_model(fresh, "churn")
    shas = {v.manifest["artifact"]["sha256"] for v in state.versions}
    assert len(shas) == 20
    assert state.stage("production").version == "v0.20.0"


@pytest.mark.skipif(not (GTO / "gto").exists(),
                    reason="gto is not installed (pip install -e '.[test]')")
def test_gto_show_reads_a_gitops_ml_registry(repo: Path):
    """Interop: GTO itself sees the same latest versions and stages as we do."""
    reg.register(repo, "churn", git(repo, "rev-parse", "HEAD"), manifest("1" * 64),
                 stage="production")
    reg.register(repo, "churn", commit(repo), manifest("2" * 64), stage="production")
    reg.register(repo, "churn", commit(repo), manifest("3" * 64), stage="staging")
    reg.register(repo, "fraud", commit(repo), manifest("4" * 64), stage="staging", bump="major")
    reg.rollback(repo, "churn", "v0.1.0", "production")
    reg.deprecate(repo, "churn", "v0.3.0")
    proc = subprocess.run([str(GTO / "gto"), "show", "--json"], cwd=repo, capture_output=True,
                          text=True, check=True)
    theirs = json.loads(proc.stdout)
    ours = reg.list_models(repo)
    assert set(theirs) == {m.name for m in ours.models} == {"churn", "fraud"}
    for m in ours.models:
        assert theirs[m.name]["version"] == m.latest
        assert {s: v for s, v in theirs[m.name]["stage"].items() if v} == m.stages
    assert theirs["churn"] == {"version": "v0.2.0", "registered": True, "active": True,
                               "stage": {"production": "v0.1.0", "staging": None}}


def test_list_cache_follows_every_tag_change(repo: Path):
    head = git(repo, "rev-parse", "HEAD")
    reg.register(repo, "churn", head, manifest("1" * 64), stage="production")
    first = reg.list_models(repo)
    cache = repo / ".git" / "gitops-ml" / "registry-list.json"
    assert cache.is_file() and first == reg.list_models(repo, cache=False)
    # a new version, a rollback and a deleted tag each change the answer
    reg.register(repo, "churn", commit(repo), manifest("2" * 64), stage="production")
    assert reg.list_models(repo).models[0].stages == {"production": "v0.2.0"}
    reg.rollback(repo, "churn", "v0.1.0")
    assert reg.list_models(repo).models[0].stages == {"production": "v0.1.0"}
    git(repo, "tag", "-d", "churn#production#3")
    assert reg.list_models(repo).models[0].stages == {"production": "v0.2.0"}
    # a damaged cache is ignored and rewritten
    cache.write_text("{not json")
    assert reg.list_models(repo) == reg.list_models(repo, cache=False)
    assert json.loads(cache.read_text())["models"][0]["latest"] == "v0.2.0"


def test_gto_simple_stage_tags_without_a_version_are_read(repo: Path):
    """GTO's --simple notation, on a commit no version was registered at: GTO "discovers" a
    version named by the commit, and so do we."""
    head = git(repo, "rev-parse", "HEAD")
    git(repo, "tag", "-a", "-m", "by gto", "nn#prod")
    state = reg.read_model(repo, "nn")
    assert state.stage("prod").version == head
    assert state.latest is None and not state.versions[0].registered
    reg.register(repo, "nn", commit(repo), manifest())
    assert reg.read_model(repo, "nn").latest.version == "v0.1.0"
