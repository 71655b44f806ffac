"""One exception tree for gitops-ml.

Every error knows its exit code, a stable code string (for JSON output and scripts), and
where it happened when there is a place to name (a file, a line, a column, a key path).
The CLI translates these to output in exactly one place (``gitops_ml.cli``).
"""

from __future__ import annotations


class ExitCode:
    """Process exit codes. Stable: scripts and workflows branch on them."""

    OK = 0
    ERROR = 1  # an unexpected failure (a bug): shown with a hint to use --traceback
    USAGE = 2  # bad command-line usage (Click's own code), or an option the command needs
    CONFIG = 3  # gitops-ml.yaml, a model spec, or a pointer file is invalid
    DATA = 4  # data missing, unreadable, hash mismatch, transfer failed
    GATES_FAILED = 5  # the model works but a quality gate failed (not an error)
    DRIFT_FOUND = 6  # monitor found drift (not an error)
    TRAINING = 7  # fitting or evaluating the model failed
    REGISTRY = 8  # git registry / store problems
    GITHUB = 9  # the GitHub API refused or failed
    UNTRUSTED = 10  # an untrusted input (a report bundle) was refused
    OUTPUT = 11  # an output file could not be written
    NOT_REPRODUCED = 12  # reproduce built a different artifact (not an error)


class Location:
    """Where in a file something is. Lines and columns are 1-based.

    A plain class, not a dataclass: this module is on every start-up path.
    """

    __slots__ = ("column", "file", "line")

    def __init__(self, file: str, line: int | None = None, column: int | None = None) -> None:
        self.file = file
        self.line = line
        self.column = column

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Location) and (self.file, self.line, self.column) == (
            other.file, other.line, other.column)

    def __hash__(self) -> int:
        return hash((self.file, self.line, self.column))

    def __repr__(self) -> str:
        return f"Location({self.file!r}, {self.line!r}, {self.column!r})"

    def __str__(self) -> str:
        out = self.file
        if self.line is not None:
            out += f":{self.line}"
            if self.column is not None:
                out += f":{self.column}"
        return out


class FrozenInstanceError(AttributeError):
    """Assignment to a field of a frozen record (:mod:`gitops_ml.util.frozen`): a programming
    error, like :class:`dataclasses.FrozenInstanceError`, not one a user is shown."""


class GitopsMLError(Exception):
    """Base of every error gitops-ml reports to a user.

    ``message`` says what is wrong, ``hint`` what to do about it. ``location`` names the file
    (and line) when there is one.
    """

    code = "error"
    exit_code = ExitCode.ERROR

    def __init__(
        self,
        message: str,
        *,
        location: Location | None = None,
        hint: str | None = None,
        key_path: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.location = location
        self.hint = hint
        self.key_path = key_path

    def one_line(self) -> str:
        """The single line a user sees: ``file:line:col: message (hint)``."""
        parts = []
        if self.location is not None:
            parts.append(f"{self.location}: ")
        if self.key_path:
            parts.append(f"{self.key_path}: ")
        parts.append(self.message)
        if self.hint:
            parts.append(f" ({self.hint})")
        return "".join(parts).replace("\n", " ")

    def to_dict(self) -> dict[str, object]:
        loc = self.location
        return {
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
            "key_path": self.key_path,
            "file": loc.file if loc else None,
            "line": loc.line if loc else None,
            "column": loc.column if loc else None,
            "exit_code": self.exit_code,
        }


class InternalError(GitopsMLError):
    """An unexpected exception: a bug in gitops-ml, reported in one line."""

    code = "internal_error"
    exit_code = ExitCode.ERROR


class UsageError(GitopsMLError):
    """A command was called without what it needs, or with a value it does not take."""

    code = "usage"
    exit_code = ExitCode.USAGE


class OutputError(GitopsMLError):
    """An output file (a report, drift.json, the Evidently HTML) could not be written."""

    code = "output_failed"
    exit_code = ExitCode.OUTPUT


class ConfigError(GitopsMLError):
    """The project config, a model spec or a pointer file is invalid."""

    code = "config_invalid"
    exit_code = ExitCode.CONFIG


class ConfigErrors(ConfigError):
    """Several independent problems found in one document, in file order. It reads as its
    first problem (``one_line``, ``location``, exit code 3), so a command about one model
    fails on one line; ``validate`` lists each of ``errors``."""

    def __init__(self, errors: tuple[ConfigError, ...]) -> None:
        first = errors[0]
        super().__init__(first.message, location=first.location, hint=first.hint,
                         key_path=first.key_path)
        self.errors = errors
        self.code = first.code

    @staticmethod
    def of(errors: list[ConfigError]) -> ConfigError:
        """One error for ``errors`` (flattened, sorted by line and column): the error itself
        when there is one."""
        flat = [e for err in errors for e in (err.errors if isinstance(err, ConfigErrors)
                                               else (err,))]
        if len(flat) == 1:
            return flat[0]
        flat.sort(key=file_order)
        return ConfigErrors(tuple(flat))


def file_order(err: GitopsMLError) -> tuple[str, int, int]:
    """A sort key putting problems in file order (file, line, column)."""
    loc = err.location
    if loc is None:
        return ("", 0, 0)
    return (loc.file, loc.line or 0, loc.column or 0)


def each_error(err: GitopsMLError) -> tuple[GitopsMLError, ...]:
    """The problems ``err`` carries: its ``errors`` for :class:`ConfigErrors`, else itself."""
    return err.errors if isinstance(err, ConfigErrors) else (err,)


class YAMLSyntaxError(ConfigError):
    code = "yaml_syntax"


class NoConfigError(ConfigError):
    code = "no_config"


class InitConflictError(ConfigError):
    """``init`` would overwrite a file whose content differs."""

    code = "init_conflict"


class DataError(GitopsMLError):
    """Data cannot be found, read, transferred, or does not match its pointer."""

    code = "data_error"
    exit_code = ExitCode.DATA


class HashMismatchError(DataError):
    code = "hash_mismatch"


class DataNotFoundError(DataError):
    code = "data_not_found"


class TransferError(DataError):
    code = "transfer_failed"


class DataCheckError(DataError):
    """The data does not fit the model: missing columns, empty, wrong dtypes."""

    code = "data_check_failed"


class TrainingError(GitopsMLError):
    code = "training_failed"
    exit_code = ExitCode.TRAINING


class ArtifactError(GitopsMLError):
    """A model artifact is missing, corrupt, or asks for untrusted types."""

    code = "artifact_invalid"
    exit_code = ExitCode.REGISTRY


class RegistryError(GitopsMLError):
    code = "registry_error"
    exit_code = ExitCode.REGISTRY


class GitError(RegistryError):
    code = "git_failed"


class RunNotFoundError(RegistryError):
    """The store holds none of the records (run, evaluation, drift) of the run asked for."""

    code = "run_not_found"


class TagExistsError(RegistryError):
    """A registry tag to be created exists already (locally)."""

    code = "tag_exists"


class PushRejected(RegistryError):
    """The remote refused the registry tags: another writer took a name first."""

    code = "push_rejected"


class StageNotCurrent(RegistryError):
    """Re-read after writing, the registry does not hold the assignment just written."""

    code = "stage_not_current"


class PromotionRefused(RegistryError):
    """The run exists but may not be promoted (failed or missing gates) without --force."""

    code = "promotion_refused"


class GitHubError(GitopsMLError):
    code = "github_error"
    exit_code = ExitCode.GITHUB


class BundleError(GitopsMLError):
    """A report bundle (untrusted data from a pull request's run) is malformed, too large, or
    not from the triggering run: refused, and nothing is posted."""

    code = "bundle_refused"
    exit_code = ExitCode.UNTRUSTED


class Verdict(GitopsMLError):
    """Not an error: the command worked and its answer is no. The CLI shows the result (text,
    or the JSON envelope with this exit code and ``error: null``), then raises the verdict;
    :func:`gitops_ml.cli._app.run` turns it into the exit code without an error line."""

    code = "verdict"


class GatesFailed(Verdict):
    """A quality gate of the model failed (``evaluate``, ``drift``)."""

    code = "gates_failed"
    exit_code = ExitCode.GATES_FAILED


class DriftFound(Verdict):
    """``monitor`` found drift in fresh data against the production reference."""

    code = "drift_found"
    exit_code = ExitCode.DRIFT_FOUND


class NotReproduced(Verdict):
    """``reproduce`` trained the version again and got an artifact with another sha256."""

    code = "not_reproduced"
    exit_code = ExitCode.NOT_REPRODUCED


# --- secrets never reach a message ---------------------------------------------------------

_SECRET_NAME_WORDS = ("TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "API_KEY",
                      "ACCESS_KEY", "PRIVATE_KEY")


def scrub_secrets(text: str, env: dict[str, str] | None = None) -> str:
    """``text`` without URL userinfo (``https://user:token@host`` -> ``https://***@host``),
    GitHub token shapes, or the value of any secret-named environment variable."""
    import os
    import re

    text = re.sub(r"([A-Za-z][A-Za-z0-9+.-]*://)[^/\s@]+@", r"\1***@", text)
    text = re.sub(r"\b(?:gh[pousr]_[A-Za-z0-9]{16,}|github_pat_[A-Za-z0-9_]{20,})", "***", text)
    source = os.environ if env is None else env
    for name, value in source.items():
        if len(value) >= 8 and any(w in name.upper() for w in _SECRET_NAME_WORDS) \
                and value in text:
            text = text.replace(value, "***")
    return text


def scrub_error(error: GitopsMLError) -> GitopsMLError:
    """The same error with secrets scrubbed from what it shows (see :func:`scrub_secrets`)."""
    error.message = scrub_secrets(error.message)
    if error.hint:
        error.hint = scrub_secrets(error.hint)
    if error.location is not None:
        error.location.file = scrub_secrets(error.location.file)
    return error
