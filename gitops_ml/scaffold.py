"""``gitops-ml init``: scaffold a gitops-ml repository from the templates in the package.

A scaffold is a config, one model spec, a data pointer to a sample CSV written from a dataset
that ships with scikit-learn, the caller workflows that use gitops-ml's reusable workflows, a
``.gitignore`` and a pre-commit config. Everything is rendered in memory first and compared
with what is on disk, so running ``init`` twice changes nothing and a file with different
content is never overwritten without ``force``.

The templates use ``[[ … ]]`` and ``[% … %]`` as Jinja2 delimiters, because the workflow files
they produce are full of GitHub's own ``${{ … }}``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from gitops_ml.errors import ConfigError, InitConflictError
from gitops_ml.util.files import atomic_write

TEMPLATES = ("classification", "regression")
DEFAULT_OWNER_REPO = "gitops-ml/gitops-ml@v1"
GROUP_SEED = 20240
OWNER_REPO_PATTERN = re.compile(r"([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)@([A-Za-z0-9_./-]+)")


@dataclass(frozen=True)
class Sample:
    """A dataset that ships inside scikit-learn, as the scaffold's sample data."""

    template: str
    model: str
    target: str
    features: tuple[str, ...]
    description: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]


@dataclass(frozen=True)
class InitResult:
    root: str
    template: str
    model: str
    created: tuple[str, ...]
    unchanged: tuple[str, ...]
    overwritten: tuple[str, ...]

    @property
    def changed(self) -> bool:
        return bool(self.created or self.overwritten)

    def to_dict(self) -> dict[str, Any]:
        return {"root": self.root, "template": self.template, "model": self.model,
                "created": list(self.created), "unchanged": list(self.unchanged),
                "overwritten": list(self.overwritten), "changed": self.changed}


# --- sample data ---------------------------------------------------------------------------

def _synthetic_groups(n: int, seed: int = GROUP_SEED) -> list[str]:
    """A seeded random sensitive attribute: gives the bias slices something to show."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return [str(g) for g in rng.choice(["A", "B"], size=n, p=[0.6, 0.4])]


def load_sample(template: str) -> Sample:
    """The sample for a template, from a dataset bundled with scikit-learn (nothing is
    downloaded)."""
    check_template(template)
    if template == "classification":
        from sklearn.datasets import load_breast_cancer

        ds = load_breast_cancer()
        # The ten "mean …" measurements keep the sample small; names become identifiers.
        idx = [i for i, n in enumerate(ds.feature_names) if n.startswith("mean ")]
        features = tuple(str(ds.feature_names[i]).replace(" ", "_") for i in idx)
        target = "malignant"
        # scikit-learn codes malignant as 0; the sample says 1 for the positive class.
        values = [[float(row[i]) for i in idx] + [int(1 - y)]
                  for row, y in zip(ds.data, ds.target, strict=True)]
        model = "breast-cancer"
        description = "scikit-learn's breast cancer dataset (load_breast_cancer)"
    else:
        from sklearn.datasets import load_diabetes

        ds = load_diabetes()
        features = tuple(str(n) for n in ds.feature_names)
        target = "progression"
        values = [[float(v) for v in row] + [float(y)]
                  for row, y in zip(ds.data, ds.target, strict=True)]
        model = "diabetes"
        description = "scikit-learn's diabetes dataset (load_diabetes)"
    groups = _synthetic_groups(len(values))
    rows = tuple((*row[:-1], group, row[-1]) for row, group in zip(values, groups, strict=True))
    return Sample(template, model, target, features, description,
                  (*features, "group", target), rows)


def format_csv(columns: tuple[str, ...], rows: Any) -> bytes:
    """CSV bytes that are the same on every run (floats as repr, LF line ends)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([repr(v) if isinstance(v, float) else v for v in row])
    return buf.getvalue().encode()


def pointer_text(data_uri: str, content: bytes, note: str) -> bytes:
    """A pointer file for ``content`` stored at ``data_uri`` (repo-relative)."""
    return _render(_read_template("common/data/__model__.ptr.yaml.j2"), {
        "data_uri": data_uri, "sha256": hashlib.sha256(content).hexdigest(),
        "size": len(content), "data_note": note}).encode()


# --- templates -----------------------------------------------------------------------------

def check_template(template: str) -> None:
    if template not in TEMPLATES:
        raise ConfigError(f"unknown template '{template}'",
                          hint="choose one of: " + ", ".join(TEMPLATES))


def parse_owner_repo(value: str) -> tuple[str, str]:
    """``OWNER/NAME@REF`` -> (``OWNER/NAME``, ``REF``)."""
    match = OWNER_REPO_PATTERN.fullmatch(value or "")
    if match is None:
        raise ConfigError(f"--owner-repo must look like OWNER/gitops-ml@REF, got {value!r}",
                          hint=f"for example {DEFAULT_OWNER_REPO}")
    return match.group(1), match.group(2)


def _root() -> Traversable:
    return resources.files("gitops_ml") / "templates" / "init"


def _read_template(rel: str) -> str:
    node = _root()
    for part in rel.split("/"):
        node = node / part
    return node.read_text(encoding="utf-8")


def _walk(node: Traversable, prefix: str = "") -> Iterator[tuple[str, Traversable]]:
    for child in sorted(node.iterdir(), key=lambda c: c.name):
        rel = f"{prefix}{child.name}"
        if child.is_dir():
            yield from _walk(child, rel + "/")
        elif child.name.endswith(".j2"):
            yield rel, child


def _output_path(rel: str) -> str:
    """Template path -> output path. Dotfiles are stored as ``dot-name`` in the package,
    because setuptools' package-data globs skip names that start with a dot."""
    parts = [("." + p[len("dot-"):]) if p.startswith("dot-") else p for p in rel.split("/")]
    return "/".join(parts)[: -len(".j2")]


def _render(text: str, context: dict[str, Any]) -> str:
    import jinja2

    env = jinja2.Environment(
        undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True,
        trim_blocks=True, lstrip_blocks=True,
        variable_start_string="[[", variable_end_string="]]",
        block_start_string="[%", block_end_string="%]",
        comment_start_string="[#", comment_end_string="#]")
    return env.from_string(text).render(**context)


def render_scaffold(template: str = "classification", *,
                    owner_repo: str = DEFAULT_OWNER_REPO) -> tuple[Sample, dict[str, bytes]]:
    """Every file of the scaffold, as ``{repo-relative path: bytes}``."""
    check_template(template)
    repo, ref = parse_owner_repo(owner_repo)
    sample = load_sample(template)
    data_uri = f"data/{sample.model}.csv"
    csv_bytes = format_csv(sample.columns, sample.rows)
    files: dict[str, bytes] = {data_uri: csv_bytes}
    pointer = f"data/{sample.model}.ptr.yaml"
    files[pointer] = pointer_text(data_uri, csv_bytes, f"Sample written by 'gitops-ml init' "
                                  f"from {sample.description}.")
    context = {"owner_repo": repo, "ref": ref, "model": sample.model, "target": sample.target,
               "features": sample.features, "rows": len(sample.rows), "pointer": pointer,
               "group_seed": GROUP_SEED}
    for folder in ("common", template):
        for rel, node in _walk(_root() / folder):
            if rel == "data/__model__.ptr.yaml.j2":
                continue
            out = _output_path(rel).replace("__model__", sample.model)
            files[out] = _render(node.read_text(encoding="utf-8"), context).encode()
    return sample, dict(sorted(files.items()))


# --- writing -------------------------------------------------------------------------------

def write_files(root: Path, files: dict[str, bytes], *, force: bool = False,
                what: str = "init") -> tuple[list[str], list[str], list[str]]:
    """Write ``files`` under ``root``, all or nothing: (created, unchanged, overwritten)."""
    created: list[str] = []
    unchanged: list[str] = []
    conflicts: list[str] = []
    for rel, data in files.items():
        path = root / rel
        if path.is_dir():
            raise InitConflictError(f"{path} is a folder, where {what} writes a file")
        if not path.exists():
            created.append(rel)
        elif path.read_bytes() == data:
            unchanged.append(rel)
        else:
            conflicts.append(rel)
    if conflicts and not force:
        shown = ", ".join(conflicts[:5]) + (f" and {len(conflicts) - 5} more"
                                             if len(conflicts) > 5 else "")
        raise InitConflictError(f"{what} would overwrite {len(conflicts)} file(s) with "
                                f"different content in {root}: {shown}",
                                hint="nothing was written; rerun with --force to overwrite")
    for rel in (*created, *conflicts):
        atomic_write(root / rel, files[rel])
    return created, unchanged, conflicts


def init(directory: str | Path = ".", template: str = "classification", *,
         force: bool = False, owner_repo: str = DEFAULT_OWNER_REPO) -> InitResult:
    """Scaffold a gitops-ml repository in ``directory`` (created if missing)."""
    root = Path(directory)
    if root.exists() and not root.is_dir():
        raise ConfigError(f"{root} exists and is not a folder")
    sample, files = render_scaffold(template, owner_repo=owner_repo)
    created, unchanged, overwritten = write_files(root, files, force=force)
    return InitResult(str(root), template, sample.model, tuple(created), tuple(unchanged),
                      tuple(overwritten))
