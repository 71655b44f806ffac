"""The one place gitops-ml talks to the GitHub REST API (through PyGithub).

``GitHubClient`` builds a lazy PyGithub client (``lazy=True``: ``get_repo`` and ``get_issue``
send nothing) with a retry policy that

- retries GET, PUT, DELETE and PATCH (PyGithub's own policy leaves PATCH out) on 5xx;
- retries POST only when GitHub says the request was not applied (403/429 rate limits), never
  on a 5xx, because a 502 on a POST may hide a write that went through (callers re-read);
- follows GitHub's documented rate-limit rules: wait ``Retry-After`` when it is given (403
  secondary limit, 429); without it, wait at least a minute after a secondary rate limit,
  doubling on each further one; never retry before the wait is over: a wait longer than
  ``max_retry_after`` seconds is an error at once, not an early retry.

Every PyGithub or transport error is turned into one :class:`~gitops_ml.errors.GitHubError`
with an actionable hint by :func:`translate`. The token never appears in a message.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import requests
from github import Auth, Github, GithubException, GithubRetry
from github.GithubException import RateLimitExceededExceedsMaxWait, RateLimitExceededException
from github.Repository import Repository

from gitops_ml.errors import GitHubError, scrub_secrets

DEFAULT_API_URL = "https://api.github.com"
COMMENT_LIMIT = 65536


@dataclass(frozen=True)
class ClientSettings:
    """How hard to try and how fast to go. Defaults suit GitHub.com; tests shrink them."""

    retries: int = 5
    backoff: float = 0.5
    # The longest wait a job sits out for a rate limit (Retry-After or a secondary limit).
    max_retry_after: float = 300.0
    # GitHub: "If the retry-after response header is not present, … wait for at least one
    # minute before retrying", and longer (exponentially) while the limit lasts.
    secondary_rate_wait: float = 60.0
    seconds_between_requests: float | None = 0.25
    seconds_between_writes: float | None = 1.0
    timeout: int = 30

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ClientSettings:
        """``GITOPS_ML_GITHUB_{RETRIES,BACKOFF,MAX_RETRY_AFTER,SECONDS_BETWEEN_REQUESTS,
        SECONDS_BETWEEN_WRITES}`` override the defaults (``0`` switches pacing off)."""
        env = os.environ if env is None else env
        base = cls()

        def num(key: str, default: float | None) -> float | None:
            raw = env.get(f"GITOPS_ML_GITHUB_{key}")
            if raw is None or raw == "":
                return default
            try:
                value = float(raw)
            except ValueError:
                raise GitHubError(f"GITOPS_ML_GITHUB_{key} must be a number, got {raw!r}") \
                    from None
            return value or None if key.startswith("SECONDS") else value

        return cls(retries=int(num("RETRIES", base.retries) or 0),
                   backoff=num("BACKOFF", base.backoff) or 0.0,
                   max_retry_after=num("MAX_RETRY_AFTER", base.max_retry_after) or 0.0,
                   secondary_rate_wait=base.secondary_rate_wait,
                   seconds_between_requests=num("SECONDS_BETWEEN_REQUESTS",
                                                base.seconds_between_requests),
                   seconds_between_writes=num("SECONDS_BETWEEN_WRITES",
                                              base.seconds_between_writes),
                   timeout=base.timeout)


class RetryPolicy(GithubRetry):
    """GithubRetry that also retries PATCH, retries 429, never retries a POST on 5xx, doubles
    the wait on repeated secondary rate limits, and never retries before GitHub's wait is
    over: a ``Retry-After`` (or a secondary-limit wait) above ``max_retry_after`` raises
    :class:`RateLimitExceededExceedsMaxWait` at once."""

    def __init__(self, *, max_retry_after: float = 300.0, **kwargs: Any) -> None:
        self.max_retry_after = max_retry_after
        kwargs.setdefault("allowed_methods",
                          frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "POST"}))
        kwargs.setdefault("status_forcelist", [429, *range(500, 600)])
        kwargs.setdefault("max_rate_limit_wait", max_retry_after)
        super().__init__(**kwargs)

    def new(self, **kw: Any) -> RetryPolicy:
        retry = super().new(**kw)
        retry.max_retry_after = self.max_retry_after
        return retry

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if method.upper() == "POST" and status_code >= 500:
            return False  # it may have been applied: the caller re-reads instead
        return bool(super().is_retry(method, status_code, has_retry_after))

    def increment(self, method: str | None = None, url: str | None = None,
                  response: Any = None, error: Exception | None = None, _pool: Any = None,
                  _stacktrace: Any = None) -> RetryPolicy:
        if response is not None and response.status in (403, 429):
            wait = self.get_retry_after(response)
            if wait is not None and wait > self.max_retry_after:
                raise RateLimitExceededExceedsMaxWait(
                    response.status, _json_body(response, url), dict(response.headers),
                    wait=wait)
        retry = super().increment(method, url, response, error, _pool, _stacktrace)
        assert isinstance(retry, RetryPolicy)
        if (response is not None and response.status == 403
                and "Retry-After" not in response.headers
                and "get_backoff_time" in vars(retry)
                and response.headers.get("X-RateLimit-Remaining") != "0"):
            # GithubRetry set a rate-limit wait, and the primary limit is not used up: a
            # secondary limit, whose wait doubles with each consecutive one
            first = retry.get_backoff_time()
            earlier = sum(1 for h in retry.history[:-1] if h.status == 403)
            wait = first * 2 ** earlier
            if wait > self.max_retry_after:
                raise RateLimitExceededExceedsMaxWait(
                    response.status, _json_body(response, url), dict(response.headers),
                    wait=wait)
            retry.get_backoff_time = lambda: wait  # type: ignore[method-assign]
        return retry


def _json_body(response: Any, url: str | None) -> dict[str, Any]:
    try:
        data = json.loads(GithubRetry.get_content(response, url or ""))
    except ValueError:
        data = None
    return data if isinstance(data, dict) else {"message": getattr(response, "reason", "")}


class GitHubClient:
    """A PyGithub client plus what gitops-ml needs to report errors well."""

    def __init__(self, token: str, *, api_url: str = DEFAULT_API_URL,
                 settings: ClientSettings | None = None) -> None:
        if not token:
            raise GitHubError("no GitHub token",
                              hint="set GITHUB_TOKEN (in a workflow: "
                                   "env: GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }})")
        self.settings = settings or ClientSettings()
        self.api_url = api_url.rstrip("/")
        self._token = token
        s = self.settings
        retry = RetryPolicy(total=s.retries, backoff_factor=s.backoff,
                            max_retry_after=s.max_retry_after,
                            secondary_rate_wait=s.secondary_rate_wait)
        self.github = Github(auth=Auth.Token(token), base_url=self.api_url, lazy=True,
                             retry=retry, per_page=100, timeout=s.timeout,
                             seconds_between_requests=s.seconds_between_requests,
                             seconds_between_writes=s.seconds_between_writes)

    def __repr__(self) -> str:  # never shows the token
        return f"GitHubClient(api_url={self.api_url!r})"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *,
                 settings: ClientSettings | None = None) -> GitHubClient:
        env = os.environ if env is None else env
        return cls(env.get("GITHUB_TOKEN", ""),
                   api_url=env.get("GITHUB_API_URL") or DEFAULT_API_URL,
                   settings=settings or ClientSettings.from_env(env))

    def repo(self, full_name: str) -> Repository:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", full_name or ""):
            raise GitHubError(f"not a repository name: {full_name!r}",
                              hint="use OWNER/NAME, or set GITHUB_REPOSITORY")
        return self.github.get_repo(full_name)

    def scrub(self, text: str) -> str:
        return text.replace(self._token, "***") if self._token else text

    @contextmanager
    def translate(self, action: str, *, permission: str, missing: str = "") -> Iterator[None]:
        """Turn what PyGithub and requests raise into one GitHubError.

        ``action`` reads as "while <action>"; ``permission`` names the workflow permission the
        action needs (e.g. ``pull-requests: write``); ``missing`` names what a 404 means.
        """
        try:
            yield
        except GitHubError:
            raise
        except GithubException as exc:
            raise self._from_github(exc, action, permission, missing) from None
        except requests.exceptions.RetryError as exc:
            m = re.search(r"too many (\d+) error responses", str(exc))
            what = f"{m.group(1)} responses" if m else "errors"
            raise GitHubError(f"GitHub kept answering with {what} while {action}, after "
                              f"{self.settings.retries} retries",
                              hint="GitHub may be degraded; rerun the job later") from None
        except requests.exceptions.RequestException as exc:
            raise GitHubError(f"cannot reach GitHub at {scrub_secrets(self.api_url)} while "
                              f"{action}: {type(exc).__name__}",
                              hint="check GITHUB_API_URL and the network") from None

    def _from_github(self, exc: GithubException, action: str, permission: str,
                     missing: str) -> GitHubError:
        status = exc.status
        data = exc.data if isinstance(exc.data, dict) else {}
        message = self.scrub(_error_text(exc.message, data))
        if status == 401:
            return GitHubError(f"GitHub rejected the token while {action} (401 Bad credentials)",
                               hint="the token is wrong or expired; check the GITHUB_TOKEN "
                                    "secret or the token you pass")
        if isinstance(exc, RateLimitExceededExceedsMaxWait) and exc.wait is not None:
            return GitHubError(f"GitHub's rate limit stopped {action}: it asks to wait "
                               f"{exc.wait:,.0f} s, more than the "
                               f"{self.settings.max_retry_after:,.0f} s a job waits "
                               f"({status}: {message})",
                               hint="rerun the job after that wait, or raise "
                                    "GITOPS_ML_GITHUB_MAX_RETRY_AFTER")
        if isinstance(exc, RateLimitExceededException) or status == 429 or (
                status == 403 and "rate limit" in message.lower()):
            return GitHubError(f"GitHub's rate limit stopped {action} ({status}: {message})",
                               hint="the retries ran out; wait a few minutes and rerun the job")
        if status == 403:
            return GitHubError(f"GitHub refused {action} (403: {message})",
                               hint=f"the token lacks {permission}; add it to the workflow's "
                                    "permissions")
        if status == 404:
            return GitHubError(f"{missing or 'the resource'} not found while {action} (404)",
                               hint="check the number and OWNER/NAME; a token that cannot see "
                                    "the repository also gets 404")
        if status == 422:
            hint = "GitHub validated the request and refused it"
            if "too long" in message.lower():
                hint = (f"the body is too long: GitHub's limit is {COMMENT_LIMIT:,} characters; "
                        "render with `gitops-ml report --format md` (it fits) or shorten it")
            return GitHubError(f"GitHub refused {action} (422: {message})", hint=hint)
        return GitHubError(f"GitHub failed while {action} ({status}: {message})",
                           hint="GitHub may be degraded; rerun the job later"
                           if status >= 500 else None)


def _error_text(message: str | None, data: Mapping[str, Any]) -> str:
    """GitHub's error text: ``message``, plus what its ``errors[]`` say (a 422 puts the
    reason there: ``message`` for custom errors, else ``field`` and ``code``)."""
    text = str(message or data.get("message") or "")
    details = []
    for error in data.get("errors") or ():
        if isinstance(error, str):
            details.append(error)
        elif isinstance(error, Mapping):
            detail = error.get("message") or " ".join(
                str(error[k]) for k in ("resource", "field", "code") if error.get(k))
            if detail:
                details.append(str(detail))
    return f"{text}: {'; '.join(details)}" if details else text
