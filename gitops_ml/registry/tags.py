"""GTO's tag grammar, defined once: a template per action and the regex that parses every tag.

The grammar is GTO 1.10's (``gto/constants.py`` and ``gto/tag.py``): ``name@vX.Y.Z``
registers a version, ``name@vX.Y.Z!`` deregisters it, ``name#stage#N`` assigns a stage
(``N`` counts every counted tag of the model), ``name#stage!#N`` unassigns it and
``name@deprecated`` deprecates the model. Names in a sub-folder are written ``folder=name``
in tags. Versions are ``v`` + SemVer 2.0.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from gitops_ml.errors import RegistryError

SEPARATOR_IN_NAME = ":"
SEPARATOR_IN_TAG = "="
DIRNAME = "[a-zA-Z0-9-_./]+"
NAME = r"[a-zA-Z0-9]([a-zA-Z0-9-/_]*[a-zA-Z0-9])?"
SEMVER = (r"(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<patch>0|[1-9]\d*)"
          r"(?:-(?P<prerelease>(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)"
          r"(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
          r"(?:\+(?P<buildmetadata>[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?")
COUNTER = "?P<counter>[0-9]+"
FULLNAME_IN_TAG = f"(?P<dirname>{DIRNAME}{SEPARATOR_IN_TAG})?(?P<name>{NAME})"
# What a user may type for a model: GTO's name form 'folder:name' or the tag form 'folder=name'.
FULLNAME = f"(?:{DIRNAME}[{SEPARATOR_IN_NAME}{SEPARATOR_IN_TAG}])?{NAME}"
NAME_RE = re.compile(f"^{NAME}$")
FULLNAME_RE = re.compile(f"^{FULLNAME}$")
VERSION_RE = re.compile(f"^v{SEMVER}$")
TAG_RE = re.compile(
    f"^(?P<artifact>{FULLNAME_IN_TAG})(((#(?P<stage>{NAME})|@(?P<version>v{SEMVER}))"
    f"(?P<cancel>!?))|@((?P<deprecated>deprecated)|(?P<created>created)))(#({COUNTER}))?$"
)

Action = Literal["register", "deregister", "assign", "unassign", "deprecate", "create"]
TAG_TEMPLATES: dict[str, str] = {
    "register": "{name}@{version}",
    "deregister": "{name}@{version}!",
    "assign": "{name}#{stage}#{counter}",
    "unassign": "{name}#{stage}!#{counter}",
    "deprecate": "{name}@deprecated",
}
COUNTED = frozenset({"assign", "unassign"})
BUMPS = ("major", "minor", "patch")


def check_name(value: str, what: str = "model name") -> str:
    """A stage (or plain model) name must match GTO's name regex (letters, digits, '-', '_',
    '/', starting and ending with a letter or digit)."""
    if not NAME_RE.match(value):
        raise RegistryError(
            f"invalid {what} '{value}': use letters, digits, '-', '_' and '/', starting and "
            "ending with a letter or digit")
    return value


def model_name(value: str) -> str:
    """A model name as GTO names artifacts: ``name``, or ``folder:name`` for an artifact in a
    sub-folder, which tags write ``folder=name``; both spellings are accepted. Returns the
    name form (``folder:name``)."""
    if not FULLNAME_RE.match(value):
        raise RegistryError(
            f"invalid model name '{value}': use letters, digits, '-', '_' and '/', starting "
            "and ending with a letter or digit, optionally after a folder and ':' or '='")
    return value.replace(SEPARATOR_IN_TAG, SEPARATOR_IN_NAME)


def name_in_tag(model: str) -> str:
    """How a model name is written in its tags (``folder:name`` becomes ``folder=name``)."""
    return model.replace(SEPARATOR_IN_NAME, SEPARATOR_IN_TAG)


def check_version(value: str) -> str:
    if not VERSION_RE.match(value):
        raise RegistryError(f"invalid version '{value}'", hint="versions look like v1.2.0")
    return value


def tag_name(action: str, name: str, *, version: str | None = None, stage: str | None = None,
             counter: int | None = None) -> str:
    """The tag for an action, from its template (the inverse of :func:`parse_tag`).

    Stage tags always carry a counter. The others may (GTO's grammar allows ``#N`` after any
    tag): a model deprecated a second time takes ``name@deprecated#N``, because the simple
    name exists already.
    """
    name = name_in_tag(model_name(name))
    if version is not None:
        check_version(version)
    if stage is not None:
        check_name(stage, "stage name")
    if action in COUNTED and counter is None:
        raise RegistryError(f"{action} tags need a counter")
    tag = TAG_TEMPLATES[action].format(name=name, version=version, stage=stage, counter=counter)
    if counter is not None and action not in COUNTED:
        tag += f"#{counter}"
    if not TAG_RE.match(tag):  # defensive: the templates and the regex must agree
        raise RegistryError(f"internal: tag '{tag}' does not parse")
    return tag


@dataclass(frozen=True)
class ParsedTag:
    action: Action
    name: str
    version: str | None = None
    stage: str | None = None
    counter: int | None = None


def parse_tag(tag: str) -> ParsedTag | None:
    """Parse a tag name in GTO's grammar; None when it is not a registry tag."""
    m = TAG_RE.match(tag)
    if not m:
        return None
    action: Action
    if m["deprecated"]:
        action = "deprecate"
    elif m["created"]:
        action = "create"
    elif m["version"]:
        action = "deregister" if m["cancel"] == "!" else "register"
    else:
        action = "unassign" if m["cancel"] == "!" else "assign"
    # GTO names artifacts in sub-folders 'folder:name' and writes them 'folder=name' in tags.
    artifact = m["artifact"].replace(SEPARATOR_IN_TAG, SEPARATOR_IN_NAME)
    return ParsedTag(action=action, name=artifact, version=m["version"],
                     stage=m["stage"], counter=int(m["counter"]) if m["counter"] else None)


SemverKey = tuple[int, int, int, int, tuple[tuple[int, int, str], ...], str]


def semver_key(version: str) -> SemverKey:
    """Sort key in SemVer 2.0 precedence (semver.org, item 11), as GTO's ``semver`` compares:

    major, minor, patch numerically; a pre-release ranks below its release; pre-release
    identifiers compare one by one, numeric ones numerically (``rc.2`` < ``rc.10``) and below
    alphanumeric ones, which compare in ASCII order; a longer list ranks above its prefix.
    Build metadata has no precedence: the version string itself breaks that tie, so that the
    order is total. Anything that is not a version (a commit GTO "discovered") sorts first.
    """
    m = VERSION_RE.match(version)
    if not m:
        return (-1, -1, -1, -1, (), version)
    pre = m["prerelease"]
    ids = tuple((0, int(i), "") if i.isdigit() else (1, 0, i)
                for i in (pre.split(".") if pre else ()))
    return (int(m["major"]), int(m["minor"]), int(m["patch"]), 0 if pre else 1, ids, version)


def bump_version(current: str | None, bump: str) -> str:
    if bump not in BUMPS:
        raise RegistryError(f"unknown bump '{bump}'", hint="use major, minor or patch")
    major, minor, patch = (0, 0, 0)
    if current is not None:
        key = semver_key(current)
        major, minor, patch = key[0], key[1], key[2]
    if bump == "major":
        return f"v{major + 1}.0.0"
    if bump == "minor":
        return f"v{major}.{minor + 1}.0"
    return f"v{major}.{minor}.{patch + 1}"

