"""A small GitHub-compatible REST server on 127.0.0.1, for driving PyGithub over real HTTP.

It keeps enough of the REST API for gitops-ml's GitHub adapter: repositories, issues and their
comments and labels (paged with a ``Link`` header), pull requests (and the pull requests of a
commit), commit statuses, check runs, releases with asset upload and download, and workflow
runs (for the ``gh`` stand-in of the e2e tests). Faults are injected per method and path
(422, 403 secondary rate limit with ``Retry-After``, 429, a 502 on a POST that was in fact
applied), and every request is counted.

It is strict where GitHub is strict:

- **Tokens.** An Actions token (``ghs_…``, a GitHub App installation token) has the
  permissions its job was given (:func:`workflow_token_permissions` computes them from the
  workflow YAML, as GitHub does); outside them the answer is 403 "Resource not accessible by
  integration". It gets 403 on ``GET /user``, and what it writes is authored by
  ``github-actions[bot]`` (type ``Bot``). A personal token's identity is ``GET /user``; it can
  never create check runs (only a GitHub App can).
- **Error bodies** have the shapes of GitHub's published REST description
  (github/rest-api-description): ``basic-error`` (``message``, ``documentation_url``,
  ``status``) and, for 422, ``validation-error`` with ``errors[]`` of ``resource``, ``field``,
  ``code`` and, for custom errors, ``message``.
- **Labels** given when an issue is created are silently dropped when ``drop_issue_labels`` is
  set, as GitHub does for a creator without push (triage) access.

    with GitHubServer(token="ghs_job") as gh:          # an Actions token, every permission
        gh.add_token("ghs_pr", permissions={"contents": "read"})
        gh.add_repo("acme/models")
        gh.add_pull("acme/models", 7, head_sha="abc123")
        gh.fail("POST", r"/issues/7/comments$", 502, applied=True)
        ...  # Github(auth=Auth.Token("ghs_job"), base_url=gh.url, lazy=True, ...)
        assert gh.count("PATCH") == 1
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import yaml

BODY_LIMIT = 65536
SECONDARY_RATE_MESSAGE = ("You have exceeded a secondary rate limit. Please wait a few minutes "
                          "before you try again. If you reach out to GitHub Support for help, "
                          "please include the request ID.")
NOT_ACCESSIBLE = "Resource not accessible by integration"
DOCS = "https://docs.github.com/rest"

# Every scope a GITHUB_TOKEN can be granted (workflow syntax: `permissions:`).
SCOPES = ("actions", "attestations", "checks", "contents", "deployments", "discussions",
          "id-token", "issues", "models", "packages", "pages", "pull-requests",
          "repository-projects", "security-events", "statuses")
LEVELS = {"none": 0, "read": 1, "write": 2}
# GitHub's "restricted" default for a workflow that declares no permissions.
RESTRICTED_DEFAULT = {"contents": "read", "packages": "read", "metadata": "read"}


@dataclass
class Fault:
    method: str
    path: re.Pattern[str]
    status: int
    times: int = 1
    headers: dict[str, str] = field(default_factory=dict)
    message: str = ""
    applied: bool = False  # the request takes effect, but the client still sees the error


@dataclass
class Token:
    """Who a token is and what it may do. ``permissions`` None: everything (``write-all``)."""

    value: str
    kind: str  # "actions" (a GitHub App installation token) | "personal"
    login: str
    permissions: dict[str, str] | None = None

    def user(self, base_url: str) -> dict[str, Any]:
        bot = self.kind == "actions"
        return {"login": self.login, "id": 41898282 if bot else 583231,
                "type": "Bot" if bot else "User", "url": f"{base_url}/users/{self.login}",
                "html_url": f"https://github.com/{self.login.removesuffix('[bot]')}"}

    def level(self, scope: str) -> int:
        if self.permissions is None:
            return LEVELS["write"]
        return LEVELS[self.permissions.get(scope, "none")]


@dataclass
class Repo:
    full_name: str
    issues: dict[int, dict[str, Any]] = field(default_factory=dict)
    comments: dict[int, dict[str, Any]] = field(default_factory=dict)  # id -> comment
    pulls: dict[int, dict[str, Any]] = field(default_factory=dict)
    statuses: list[dict[str, Any]] = field(default_factory=list)
    check_runs: list[dict[str, Any]] = field(default_factory=list)
    releases: dict[int, dict[str, Any]] = field(default_factory=dict)
    assets: dict[int, bytes] = field(default_factory=dict)
    workflow_runs: list[dict[str, Any]] = field(default_factory=list)


class HTTPError(Exception):
    """An error answer. ``errors`` makes it a ``validation-error`` (422) body."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None, *,
                 errors: list[dict[str, Any]] | None = None, docs: str = DOCS) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
        self.errors = errors
        self.docs = docs

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message, "documentation_url": self.docs,
                                "status": str(self.status)}
        if self.errors is not None:
            body["errors"] = self.errors
        return body


def validation_failed(resource: str, field_name: str, code: str, message: str | None = None,
                      docs: str = DOCS) -> HTTPError:
    """GitHub's 422: "Validation Failed", the details in ``errors[]`` (``message`` only for
    ``code: custom``, as in the REST description's examples)."""
    error: dict[str, Any] = {"resource": resource, "field": field_name, "code": code}
    if message is not None:
        error["message"] = message
    return HTTPError(422, "Validation Failed", errors=[error], docs=docs)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- token permissions from workflow YAML ----------------------------------------------------

def _load_workflow(doc: Mapping[str, Any] | Path | str) -> dict[str, Any]:
    if isinstance(doc, Mapping):
        return dict(doc)
    data = yaml.safe_load(Path(doc).read_text())
    if True in data:  # PyYAML reads the key `on` as True (YAML 1.1)
        data["on"] = data.pop(True)
    return dict(data)


def _expand(permissions: Any) -> dict[str, str] | None:
    """A `permissions:` value as a full map (None: not declared)."""
    if permissions is None:
        return None
    if permissions == "write-all":
        return dict.fromkeys(SCOPES, "write")
    if permissions == "read-all":
        return dict.fromkeys(SCOPES, "read")
    if permissions == {} or permissions == "":
        return dict.fromkeys(SCOPES, "none")
    if not isinstance(permissions, Mapping):
        raise ValueError(f"not a permissions value: {permissions!r}")
    full = dict.fromkeys(SCOPES, "none")
    for scope, level in permissions.items():
        if scope not in SCOPES or level not in LEVELS:
            raise ValueError(f"not a permission: {scope}: {level}")
        full[scope] = level
    return full


def _declared(doc: Mapping[str, Any], job: str) -> dict[str, str] | None:
    jobs = doc.get("jobs") or {}
    if job not in jobs:
        raise KeyError(f"no job {job!r} (jobs: {', '.join(jobs)})")
    job_level = _expand(jobs[job].get("permissions"))
    return job_level if job_level is not None else _expand(doc.get("permissions"))


def workflow_token_permissions(caller: Mapping[str, Any] | Path | str, caller_job: str,
                               callee: Mapping[str, Any] | Path | str | None = None,
                               callee_job: str | None = None) -> dict[str, str]:
    """The GITHUB_TOKEN permissions of a job, as GitHub computes them.

    The caller's job gets its own ``permissions:``, else the workflow's, else the restricted
    default. A job of a called (reusable) workflow gets what it asks for (its job's, else its
    workflow's, else the caller's), intersected with what the caller grants: a called workflow
    can only lower the permissions. Scopes at ``none`` are left out.
    """
    caller_doc = _load_workflow(caller)
    granted = _declared(caller_doc, caller_job)
    if granted is None:
        granted = {**dict.fromkeys(SCOPES, "none"),
                   **{k: v for k, v in RESTRICTED_DEFAULT.items() if k in SCOPES}}
    if callee is not None:
        assert callee_job is not None, "callee_job names the called workflow's job"
        asked = _declared(_load_workflow(callee), callee_job)
        if asked is not None:
            granted = {scope: min(granted[scope], asked[scope], key=LEVELS.__getitem__)
                       for scope in SCOPES}
    return {scope: level for scope, level in granted.items() if level != "none"}


class GitHubServer:
    """The server's state and its fault hooks. Thread-safe through one lock."""

    def __init__(self, token: str = "test-token", *, login: str | None = None,
                 permissions: Mapping[str, str] | None = None) -> None:
        self.tokens: dict[str, Token] = {}
        self.token = token
        self.add_token(token, login=login, permissions=permissions)
        self.login = self.tokens[token].login
        self.repos: dict[str, Repo] = {}
        self.requests: list[tuple[str, str]] = []  # (method, path without query)
        self.faults: list[Fault] = []
        self.check_runs_forbidden = False  # True: refuse check runs to every token
        self.forbidden_writes: set[str] = set()  # "comments", "statuses", "issues", "releases"
        self.drop_issue_labels = False  # True: labels on a new issue are dropped (no push)
        self.body_limit = BODY_LIMIT
        self._ids = 1000
        self._lock = threading.RLock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> GitHubServer:
        handler = type("Handler", (_Handler,), {"server_state": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> GitHubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    # -- set-up ---------------------------------------------------------------------------------
    def add_token(self, value: str, *, permissions: Mapping[str, str] | None = None,
                  login: str | None = None, kind: str | None = None) -> Token:
        """Accept ``value``. ``ghs_…`` is an Actions token (``github-actions[bot]``) unless
        ``kind`` says otherwise; ``permissions`` None grants everything."""
        kind = kind or ("actions" if value.startswith("ghs_") else "personal")
        login = login or ("github-actions[bot]" if kind == "actions" else "octocat")
        if permissions is not None:
            _expand(permissions)  # checked: a typo must not silently grant nothing
        token = Token(value, kind, login, None if permissions is None else dict(permissions))
        self.tokens[value] = token
        return token

    def _next_id(self) -> int:
        with self._lock:
            self._ids += 1
            return self._ids

    def add_repo(self, full_name: str) -> Repo:
        with self._lock:
            return self.repos.setdefault(full_name, Repo(full_name))

    def add_pull(self, full_name: str, number: int, *, head_sha: str = "0" * 40,
                 title: str = "A change", head_ref: str = "feature",
                 head_repo: str | None = None, merge_commit_sha: str | None = None,
                 state: str = "open") -> dict[str, Any]:
        repo = self.add_repo(full_name)
        base = f"{self.url}/repos/{full_name}"
        with self._lock:
            issue = self._new_issue(repo, number, title, "", labels=[],
                                    user=self.tokens[self.token].user(self.url))
            issue["pull_request"] = {"url": f"{base}/pulls/{number}"}
            pull = {"number": number, "id": self._next_id(), "title": title, "state": state,
                    "url": f"{base}/pulls/{number}",
                    "issue_url": f"{base}/issues/{number}",
                    "comments_url": f"{base}/issues/{number}/comments",
                    "html_url": f"https://github.com/{full_name}/pull/{number}",
                    "merge_commit_sha": merge_commit_sha,
                    "head": {"sha": head_sha, "ref": head_ref,
                             "repo": {"full_name": head_repo or full_name}},
                    "base": {"sha": "f" * 40, "ref": "main",
                             "repo": {"full_name": full_name}}}
            repo.pulls[number] = pull
            return pull

    def add_workflow_run(self, full_name: str, workflow: str, run_id: int, *, head_sha: str,
                         event: str = "pull_request", conclusion: str = "success"
                         ) -> dict[str, Any]:
        """A finished run of ``workflow`` (its file name) for ``gh run list``."""
        repo = self.add_repo(full_name)
        run = {"id": run_id, "name": workflow, "head_sha": head_sha, "event": event,
               "status": "completed", "conclusion": conclusion, "_workflow": workflow,
               "html_url": f"https://github.com/{full_name}/actions/runs/{run_id}",
               "created_at": _now()}
        with self._lock:
            repo.workflow_runs.append(run)
        return run

    def add_comments(self, full_name: str, number: int, bodies: list[str], *,
                     login: str | None = None) -> None:
        """Comments by ``login`` (a person, type User) or by the server's own token."""
        repo = self.repos[full_name]
        user = (Token("", "personal", login).user(self.url) if login
                else self.tokens[self.token].user(self.url))
        for body in bodies:
            self._new_comment(repo, number, body, user)

    def add_issue(self, full_name: str, title: str, body: str, *, login: str,
                  labels: tuple[str, ...] = ()) -> dict[str, Any]:
        """An open issue written by ``login`` (a person, type User)."""
        repo = self.add_repo(full_name)
        with self._lock:
            return self._new_issue(repo, None, title, body, list(labels),
                                   Token("", "personal", login).user(self.url))

    def fail(self, method: str, path: str, status: int, *, times: int = 1,
             headers: dict[str, str] | None = None, message: str = "",
             applied: bool = False) -> Fault:
        """Answer the next ``times`` requests matching ``method`` and the ``path`` regex with
        ``status``. ``applied=True`` performs the request first (a 502 that went through)."""
        fault = Fault(method.upper(), re.compile(path), status, times, dict(headers or {}),
                      message, applied)
        with self._lock:
            self.faults.append(fault)
        return fault

    def secondary_rate_limit(self, method: str, path: str, *, retry_after: int | None = 1,
                             times: int = 1) -> Fault:
        """GitHub's secondary rate limit: 403, with ``Retry-After`` when given (GitHub may
        leave it out; then the client must wait at least a minute)."""
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        return self.fail(method, path, 403, times=times, message=SECONDARY_RATE_MESSAGE,
                         headers=headers)

    # -- inspection -----------------------------------------------------------------------------
    def count(self, method: str | None = None, path: str | None = None) -> int:
        with self._lock:
            return sum(1 for m, p in self.requests
                       if (method is None or m == method.upper())
                       and (path is None or re.search(path, p)))

    def counts(self) -> Counter[tuple[str, str]]:
        with self._lock:
            return Counter(self.requests)

    def reset_counts(self) -> None:
        with self._lock:
            self.requests.clear()

    def comments_on(self, full_name: str, number: int) -> list[dict[str, Any]]:
        repo = self.repos[full_name]
        with self._lock:
            return [c for c in repo.comments.values() if c["_issue"] == number]

    # -- model ----------------------------------------------------------------------------------
    def _new_issue(self, repo: Repo, number: int | None, title: str, body: str,
                   labels: list[str], user: dict[str, Any]) -> dict[str, Any]:
        if number is None:
            number = max([0, *repo.issues]) + 1
        base = f"{self.url}/repos/{repo.full_name}"
        issue = {"number": number, "id": self._next_id(), "title": title, "body": body,
                 "state": "open", "labels": [{"name": name} for name in labels],
                 "url": f"{base}/issues/{number}",
                 "comments_url": f"{base}/issues/{number}/comments",
                 "html_url": f"https://github.com/{repo.full_name}/issues/{number}",
                 "user": user, "created_at": _now(), "updated_at": _now(),
                 "comments": 0, "closed_at": None}
        repo.issues[number] = issue
        return issue

    def _new_comment(self, repo: Repo, number: int, body: str,
                     user: dict[str, Any]) -> dict[str, Any]:
        cid = self._next_id()
        base = f"{self.url}/repos/{repo.full_name}"
        comment = {"id": cid, "body": body, "user": user,
                   "url": f"{base}/issues/comments/{cid}",
                   "html_url": f"https://github.com/{repo.full_name}/pull/{number}#issuecomment-"
                               f"{cid}",
                   "issue_url": f"{base}/issues/{number}", "created_at": _now(),
                   "updated_at": _now(), "_issue": number}
        repo.comments[cid] = comment
        repo.issues[number]["comments"] += 1
        return comment

    def _check_body(self, body: Any, resource: str, docs: str) -> None:
        if isinstance(body, str) and len(body) > self.body_limit:
            raise validation_failed(resource, "body", "custom",
                                    f"body is too long (maximum is {self.body_limit} "
                                    "characters)", docs)

    def _forbid(self, scope: str) -> None:
        if scope in self.forbidden_writes:
            raise HTTPError(403, NOT_ACCESSIBLE)

    @staticmethod
    def _need(token: Token, *scopes: str, level: str, docs: str = DOCS) -> None:
        """403 unless ``token`` holds one of ``scopes`` at ``level`` or above."""
        if not any(token.level(scope) >= LEVELS[level] for scope in scopes):
            raise HTTPError(403, NOT_ACCESSIBLE, docs=docs)

    def handle(self, method: str, path: str, query: dict[str, list[str]], body: Any,
               raw: bytes, token: Token | None = None) -> tuple[int, Any, dict[str, str]]:
        """Route one request. Returns (status, JSON-able payload or bytes, extra headers)."""
        with self._lock:
            return self._route(method, path, query, body, raw,
                               token or self.tokens[self.token])

    def _repo(self, owner: str, name: str) -> Repo:
        repo = self.repos.get(f"{owner}/{name}")
        if repo is None:
            raise HTTPError(404, "Not Found")
        return repo

    def _page(self, path: str, query: dict[str, list[str]], items: list[Any],
              wrap: str | None = None) -> tuple[int, Any, dict[str, str]]:
        per_page = min(int(query.get("per_page", ["30"])[0]), 100)
        page = int(query.get("page", ["1"])[0])
        start = (page - 1) * per_page
        chunk = items[start:start + per_page]
        last = max(1, -(-len(items) // per_page))
        links = []
        params = {k: v[0] for k, v in query.items() if not k.startswith("_")}

        def link(n: int, rel: str) -> str:
            query = urlencode({**params, "per_page": per_page, "page": n})
            return f'<{self.url}{path}?{query}>; rel="{rel}"'

        if page < last:
            links += [link(page + 1, "next"), link(last, "last")]
        if page > 1:
            links += [link(1, "first"), link(page - 1, "prev")]
        headers = {"Link": ", ".join(links)} if links else {}
        payload: Any = [_public(i) for i in chunk]
        if wrap is not None:
            payload = {"total_count": len(items), wrap: payload}
        return 200, payload, headers

    def _route(self, method: str, path: str, query: dict[str, list[str]], body: Any,
               raw: bytes, token: Token) -> tuple[int, Any, dict[str, str]]:
        m = re.fullmatch(r"/repos/([^/]+)/([^/]+)(/.*)?", path)
        if method == "GET" and path == "/user":
            if token.kind == "actions":  # an installation token is no user
                raise HTTPError(403, NOT_ACCESSIBLE,
                                docs=f"{DOCS}/users/users#get-the-authenticated-user")
            return 200, token.user(self.url), {}
        if m is None:
            m_up = re.fullmatch(r"/uploads/repos/([^/]+)/([^/]+)/releases/(\d+)/assets", path)
            if m_up and method == "POST":
                self._need(token, "contents", level="write",
                           docs=f"{DOCS}/releases/assets#upload-a-release-asset")
                return self._upload(self._repo(m_up[1], m_up[2]), int(m_up[3]), query, raw)
            raise HTTPError(404, "Not Found")
        repo = self._repo(m[1], m[2])
        rest = m[3] or ""
        base = f"{self.url}/repos/{repo.full_name}"
        if rest == "" and method == "GET":
            return 200, {"full_name": repo.full_name, "name": m[2], "url": base,
                         "owner": {"login": m[1]}, "id": 1, "private": False,
                         "default_branch": "main"}, {}

        def is_pull(number: int) -> bool:
            return "pull_request" in repo.issues.get(number, {})

        def issue_scopes(number: int) -> tuple[str, ...]:
            # a pull request's conversation is reachable with either scope
            return ("issues", "pull-requests") if is_pull(number) else ("issues",)

        r = re.fullmatch(r"/issues/(\d+)/comments", rest)
        if r:
            number = int(r[1])
            if number not in repo.issues:
                raise HTTPError(404, "Not Found")
            if method == "GET":
                self._need(token, *issue_scopes(number), level="read")
                items = sorted((c for c in repo.comments.values() if c["_issue"] == number),
                               key=lambda c: c["id"])
                return self._page(path, query, items)
            if method == "POST":
                docs = f"{DOCS}/issues/comments#create-an-issue-comment"
                self._need(token, *issue_scopes(number), level="write", docs=docs)
                self._forbid("comments")
                self._check_body(body.get("body"), "IssueComment", docs)
                comment = self._new_comment(repo, number, body["body"], token.user(self.url))
                return 201, _public(comment), {}
        r = re.fullmatch(r"/issues/(\d+)/labels", rest)
        if r and method == "POST":
            issue = repo.issues.get(int(r[1]))
            if issue is None:
                raise HTTPError(404, "Not Found")
            self._need(token, *issue_scopes(issue["number"]), level="write",
                       docs=f"{DOCS}/issues/labels#add-labels-to-an-issue")
            self._forbid("issues")
            names = body.get("labels", []) if isinstance(body, dict) else body
            have = [x["name"] for x in issue["labels"]]
            issue["labels"] = [{"name": n} for n in [*have, *(n for n in names if n not in have)]]
            return 200, issue["labels"], {}
        r = re.fullmatch(r"/issues/comments/(\d+)", rest)
        if r:
            comment = repo.comments.get(int(r[1]))
            if comment is None:
                raise HTTPError(404, "Not Found")
            scopes = issue_scopes(comment["_issue"])
            if method == "GET":
                self._need(token, *scopes, level="read")
                return 200, _public(comment), {}
            if method == "PATCH":
                docs = f"{DOCS}/issues/comments#update-an-issue-comment"
                self._need(token, *scopes, level="write", docs=docs)
                self._forbid("comments")
                self._check_body(body.get("body"), "IssueComment", docs)
                comment["body"] = body["body"]
                comment["updated_at"] = _now()
                return 200, _public(comment), {}
            if method == "DELETE":
                self._need(token, *scopes, level="write")
                self._forbid("comments")
                del repo.comments[comment["id"]]
                repo.issues[comment["_issue"]]["comments"] -= 1
                return 204, None, {}
        r = re.fullmatch(r"/issues/(\d+)", rest)
        if r:
            issue = repo.issues.get(int(r[1]))
            if issue is None:
                raise HTTPError(404, "Not Found")
            scopes = issue_scopes(issue["number"])
            if method == "GET":
                self._need(token, *scopes, level="read")
                return 200, _public(issue), {}
            if method == "PATCH":
                docs = f"{DOCS}/issues/issues#update-an-issue"
                self._need(token, *scopes, level="write", docs=docs)
                self._forbid("issues")
                self._check_body(body.get("body"), "Issue", docs)
                for key in ("title", "body", "state"):
                    if key in body:
                        issue[key] = body[key]
                if "labels" in body:
                    issue["labels"] = [{"name": n} for n in body["labels"]]
                issue["closed_at"] = _now() if issue["state"] == "closed" else None
                issue["updated_at"] = _now()
                return 200, _public(issue), {}
        if rest == "/issues":
            if method == "GET":
                self._need(token, "issues", level="read")
                state = query.get("state", ["open"])[0]
                labels = [x for x in query.get("labels", [""])[0].split(",") if x]
                items = [i for i in sorted(repo.issues.values(), key=lambda i: -i["number"])
                         if (state == "all" or i["state"] == state)
                         and all(lb in {x["name"] for x in i["labels"]} for lb in labels)]
                return self._page(path, query, items)
            if method == "POST":
                docs = f"{DOCS}/issues/issues#create-an-issue"
                self._need(token, "issues", level="write", docs=docs)
                self._forbid("issues")
                self._check_body(body.get("body"), "Issue", docs)
                labels = [] if self.drop_issue_labels else list(body.get("labels") or [])
                issue = self._new_issue(repo, None, body["title"], body.get("body") or "",
                                        labels, token.user(self.url))
                return 201, _public(issue), {}
        r = re.fullmatch(r"/pulls/(\d+)", rest)
        if r and method == "GET":
            self._need(token, "pull-requests", level="read")
            pull = repo.pulls.get(int(r[1]))
            if pull is None:
                raise HTTPError(404, "Not Found")
            return 200, pull, {}
        r = re.fullmatch(r"/commits/([0-9a-fA-F]+)/pulls", rest)
        if r and method == "GET":
            self._need(token, "pull-requests", level="read")
            sha = r[1]
            items = [p for p in repo.pulls.values()
                     if sha in (p["head"]["sha"], p.get("merge_commit_sha"))]
            return self._page(path, query, items)
        r = re.fullmatch(r"/statuses/([0-9a-fA-F]+)", rest)
        if r and method == "POST":
            docs = f"{DOCS}/commits/statuses#create-a-commit-status"
            self._need(token, "statuses", level="write", docs=docs)
            self._forbid("statuses")
            if body.get("state") not in {"error", "failure", "pending", "success"}:
                raise validation_failed("Status", "state", "invalid", docs=docs)
            status = {"id": self._next_id(), "sha": r[1], "state": body["state"],
                      "context": body.get("context", "default"),
                      "description": body.get("description"),
                      "target_url": body.get("target_url"), "url": f"{base}/statuses/{r[1]}",
                      "creator": token.user(self.url),
                      "created_at": _now(), "updated_at": _now()}
            repo.statuses.append(status)
            return 201, status, {}
        if rest == "/check-runs" and method == "POST":
            docs = f"{DOCS}/checks/runs#create-a-check-run"
            if token.kind != "actions":  # only a GitHub App may create check runs
                raise HTTPError(403, "You must authenticate via a GitHub App.", docs=docs)
            self._need(token, "checks", level="write", docs=docs)
            if self.check_runs_forbidden:
                raise HTTPError(403, NOT_ACCESSIBLE, docs=docs)
            rid = self._next_id()
            run = {"id": rid, "name": body["name"], "head_sha": body["head_sha"],
                   "status": body.get("status", "queued"), "conclusion": body.get("conclusion"),
                   "output": body.get("output"), "details_url": body.get("details_url"),
                   "url": f"{base}/check-runs/{rid}",
                   "html_url": f"https://github.com/{repo.full_name}/runs/{rid}",
                   "app": {"slug": "github-actions"}}
            repo.check_runs.append(run)
            return 201, run, {}
        r = re.fullmatch(r"/actions/workflows/([^/]+)/runs", rest)
        if r and method == "GET":
            self._need(token, "actions", level="read")
            head = query.get("head_sha", [""])[0]
            runs = [run for run in sorted(repo.workflow_runs, key=lambda x: -x["id"])
                    if run["_workflow"] == unquote(r[1]) and (not head or run["head_sha"] == head)]
            return self._page(path, query, runs, wrap="workflow_runs")
        return self._route_releases(repo, method, rest, query, body, token, base)

    def _route_releases(self, repo: Repo, method: str, rest: str, query: dict[str, list[str]],
                        body: Any, token: Token, base: str) -> tuple[int, Any, dict[str, str]]:
        if rest == "/releases":
            if method == "POST":
                docs = f"{DOCS}/releases/releases#create-a-release"
                self._need(token, "contents", level="write", docs=docs)
                self._forbid("releases")
                tag = body["tag_name"]
                if any(r["tag_name"] == tag for r in repo.releases.values()):
                    raise validation_failed("Release", "tag_name", "already_exists", docs=docs)
                rid = self._next_id()
                release = {"id": rid, "tag_name": tag, "name": body.get("name", tag),
                           "body": body.get("body", ""), "draft": body.get("draft", False),
                           "prerelease": body.get("prerelease", False),
                           "target_commitish": body.get("target_commitish", "main"),
                           "url": f"{base}/releases/{rid}",
                           "assets_url": f"{base}/releases/{rid}/assets",
                           "html_url": f"https://github.com/{repo.full_name}/releases/tag/{tag}",
                           "upload_url": f"{self.url}/uploads/repos/{repo.full_name}/releases/"
                                         f"{rid}/assets{{?name,label}}",
                           "author": token.user(self.url),
                           "assets": [], "created_at": _now(), "published_at": _now()}
                repo.releases[rid] = release
                return 201, release, {}
            if method == "GET":
                self._need(token, "contents", level="read")
                return self._page(f"/repos/{repo.full_name}/releases", query,
                                  sorted(repo.releases.values(), key=lambda r: -r["id"]))
        r = re.fullmatch(r"/releases/tags/(.+)", rest)
        if r and method == "GET":
            self._need(token, "contents", level="read")
            for release in repo.releases.values():
                if release["tag_name"] == unquote(r[1]):
                    return 200, release, {}
            raise HTTPError(404, "Not Found",
                            docs=f"{DOCS}/releases/releases#get-a-release-by-tag-name")
        r = re.fullmatch(r"/releases/(\d+)", rest)
        if r:
            release = repo.releases.get(int(r[1]))
            if release is None:
                raise HTTPError(404, "Not Found")
            if method == "GET":
                self._need(token, "contents", level="read")
                return 200, release, {}
            if method == "DELETE":
                self._need(token, "contents", level="write")
                for asset in release["assets"]:
                    repo.assets.pop(asset["id"], None)
                del repo.releases[release["id"]]
                return 204, None, {}
        r = re.fullmatch(r"/releases/(\d+)/assets", rest)
        if r and method == "GET":
            self._need(token, "contents", level="read")
            release = repo.releases.get(int(r[1]))
            if release is None:
                raise HTTPError(404, "Not Found")
            return self._page(f"/repos/{repo.full_name}{rest}", query, release["assets"])
        r = re.fullmatch(r"/releases/assets/(\d+)", rest)
        if r:
            aid = int(r[1])
            found = [(rel, a) for rel in repo.releases.values() for a in rel["assets"]
                     if a["id"] == aid]
            if not found:
                raise HTTPError(404, "Not Found")
            release, asset = found[0]
            if method == "GET":
                self._need(token, "contents", level="read")
                if "application/octet-stream" in query.get("_accept", [""])[0]:
                    # like GitHub: a redirect to a short-lived download URL (no token needed)
                    asset["download_count"] += 1
                    return 302, None, {"Location": f"{self.url}/_download/{repo.full_name}/"
                                                   f"{aid}"}
                return 200, asset, {}
            if method == "DELETE":
                self._need(token, "contents", level="write")
                release["assets"].remove(asset)
                repo.assets.pop(aid, None)
                return 204, None, {}
        raise HTTPError(404, "Not Found")

    def _upload(self, repo: Repo, rid: int, query: dict[str, list[str]], raw: bytes
                ) -> tuple[int, Any, dict[str, str]]:
        docs = f"{DOCS}/releases/assets#upload-a-release-asset"
        release = repo.releases.get(rid)
        if release is None:
            raise HTTPError(404, "Not Found")
        name = query.get("name", [""])[0]
        if not name:
            raise validation_failed("ReleaseAsset", "name", "missing_field", docs=docs)
        if any(a["name"] == name for a in release["assets"]):
            raise validation_failed("ReleaseAsset", "name", "already_exists", docs=docs)
        aid = self._next_id()
        asset = {"id": aid, "name": name, "label": query.get("label", [""])[0],
                 "size": len(raw), "state": "uploaded", "content_type": "application/octet-stream",
                 "digest": f"sha256:{hashlib.sha256(raw).hexdigest()}",
                 "url": f"{self.url}/repos/{repo.full_name}/releases/assets/{aid}",
                 "browser_download_url": f"{self.url}/{repo.full_name}/releases/download/"
                                         f"{release['tag_name']}/{name}",
                 "created_at": _now(), "updated_at": _now(), "download_count": 0}
        repo.assets[aid] = raw
        release["assets"].append(asset)
        return 201, asset, {}

    def download(self, path: str) -> bytes | None:
        """The bytes behind a download URL (``/_download/OWNER/NAME/ID`` or a release's
        ``browser_download_url``), or None."""
        with self._lock:
            m = re.fullmatch(r"/_download/([^/]+/[^/]+)/(\d+)", path)
            if m and m[1] in self.repos:
                return self.repos[m[1]].assets.get(int(m[2]))
            m = re.fullmatch(r"/([^/]+/[^/]+)/releases/download/(.+)/([^/]+)", path)
            if m and m[1] in self.repos:
                repo = self.repos[m[1]]
                for release in repo.releases.values():
                    if release["tag_name"] == unquote(m[2]):
                        for asset in release["assets"]:
                            if asset["name"] == unquote(m[3]):
                                return repo.assets[asset["id"]]
            return None


def _public(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if not k.startswith("_")}


class _Handler(BaseHTTPRequestHandler):
    server_state: GitHubServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, payload: Any, headers: dict[str, str]) -> None:
        if isinstance(payload, bytes):
            data, kind = payload, "application/octet-stream"
        else:
            data = b"" if payload is None else json.dumps(payload).encode()
            kind = "application/json; charset=utf-8"
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-RateLimit-Limit", "5000")
        self.send_header("X-RateLimit-Remaining", "4999")
        self.send_header("X-GitHub-Api-Version-Selected", "2022-11-28")
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _serve(self) -> None:
        gh = self.server_state
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query)
        method = self.command
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        with gh._lock:
            gh.requests.append((method, path))
        if method == "GET" and (path.startswith("/_download/") or "/releases/download/" in path):
            data = gh.download(path)  # a signed or public URL: no token
            if data is None:
                self._send(404, HTTPError(404, "Not Found").body(), {})
            else:
                self._send(200, data, {})
            return
        auth = self.headers.get("Authorization", "")
        value = auth.split(" ", 1)[1] if auth.startswith(("token ", "Bearer ")) else ""
        token = gh.tokens.get(value)
        if token is None:
            self._send(401, HTTPError(401, "Bad credentials").body(), {})
            return
        query["_accept"] = [self.headers.get("Accept", "")]
        body: Any = {}
        if raw and not path.startswith("/uploads/"):
            try:
                body = json.loads(raw)
            except ValueError:
                self._send(400, HTTPError(400, "Problems parsing JSON").body(), {})
                return
        fault = None
        with gh._lock:
            for f in gh.faults:
                if f.times > 0 and f.method == method and f.path.search(path):
                    f.times -= 1
                    fault = f
                    break
        try:
            if fault is not None and not fault.applied:
                raise _fault_error(fault)
            status, payload, headers = gh.handle(method, path, query, body, raw, token)
            if fault is not None:  # applied, and yet the client sees an error
                raise _fault_error(fault)
        except HTTPError as err:
            self._send(err.status, err.body(), err.headers)
            return
        self._send(status, payload, headers)

    do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _serve


def _fault_error(fault: Fault) -> HTTPError:
    if fault.status == 422:
        return validation_failed("Resource", "body", "custom", fault.message or None)
    return HTTPError(fault.status, fault.message or _reason(fault.status), fault.headers)


def _reason(status: int) -> str:
    return {429: "Too Many Requests", 502: "Bad Gateway", 503: "Service Unavailable",
            500: "Internal Server Error", 422: "Validation Failed",
            404: "Not Found"}.get(status, "Error")
