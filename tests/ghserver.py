"""A small GitHub-compatible REST server on 127.0.0.1, for driving PyGithub over real HTTP.

It keeps enough of the REST API for gitops-ml's GitHub adapter: repositories, issues and their
comments (paged with a ``Link`` header), pull requests, commit statuses, check runs, releases
and asset uploads. Faults are injected per method and path (422, 403 secondary rate limit with
``Retry-After``, 429, a 502 on a POST that was in fact applied), and every request is counted.

    with GitHubServer(token="t0ken") as gh:
        gh.add_repo("acme/models")
        gh.add_pull("acme/models", 7, head_sha="abc123")
        gh.fail("POST", r"/issues/7/comments$", 502, applied=True)
        ...  # Github(auth=Auth.Token("t0ken"), base_url=gh.url, lazy=True, ...)
        assert gh.count("PATCH") == 1
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

BODY_LIMIT = 65536
SECONDARY_RATE_MESSAGE = ("You have exceeded a secondary rate limit. Please wait a few minutes "
                          "before you try again.")


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
class Repo:
    full_name: str
    issues: dict[int, dict[str, Any]] = field(default_factory=dict)
    comments: dict[int, dict[str, Any]] = field(default_factory=dict)  # id -> comment
    pulls: dict[int, dict[str, Any]] = field(default_factory=dict)
    statuses: list[dict[str, Any]] = field(default_factory=list)
    check_runs: list[dict[str, Any]] = field(default_factory=list)
    releases: dict[int, dict[str, Any]] = field(default_factory=dict)
    assets: dict[int, bytes] = field(default_factory=dict)


class HTTPError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class GitHubServer:
    """The server's state and its fault hooks. Thread-safe through one lock."""

    def __init__(self, token: str = "test-token", *, login: str = "github-actions[bot]") -> None:
        self.token = token
        self.login = login
        self.repos: dict[str, Repo] = {}
        self.requests: list[tuple[str, str]] = []  # (method, path without query)
        self.faults: list[Fault] = []
        self.check_runs_forbidden = False  # True: a token that is not a GitHub App's
        self.forbidden_writes: set[str] = set()  # "comments", "statuses", "issues", "releases"
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
    def _next_id(self) -> int:
        with self._lock:
            self._ids += 1
            return self._ids

    def add_repo(self, full_name: str) -> Repo:
        with self._lock:
            return self.repos.setdefault(full_name, Repo(full_name))

    def add_pull(self, full_name: str, number: int, *, head_sha: str = "0" * 40,
                 title: str = "A change", head_ref: str = "feature",
                 head_repo: str | None = None) -> dict[str, Any]:
        repo = self.add_repo(full_name)
        base = f"{self.url}/repos/{full_name}"
        with self._lock:
            issue = self._new_issue(repo, number, title, "", labels=[])
            issue["pull_request"] = {"url": f"{base}/pulls/{number}"}
            pull = {"number": number, "id": self._next_id(), "title": title, "state": "open",
                    "url": f"{base}/pulls/{number}",
                    "issue_url": f"{base}/issues/{number}",
                    "comments_url": f"{base}/issues/{number}/comments",
                    "html_url": f"https://github.com/{full_name}/pull/{number}",
                    "head": {"sha": head_sha, "ref": head_ref,
                             "repo": {"full_name": head_repo or full_name}},
                    "base": {"sha": "f" * 40, "ref": "main"}}
            repo.pulls[number] = pull
            return pull

    def add_comments(self, full_name: str, number: int, bodies: list[str]) -> None:
        repo = self.repos[full_name]
        for body in bodies:
            self._new_comment(repo, number, body)

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

    def secondary_rate_limit(self, method: str, path: str, *, retry_after: int = 1,
                             times: int = 1) -> Fault:
        return self.fail(method, path, 403, times=times, message=SECONDARY_RATE_MESSAGE,
                         headers={"Retry-After": str(retry_after)})

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
    def _user(self) -> dict[str, Any]:
        return {"login": self.login, "id": 41898282, "type": "Bot",
                "url": f"{self.url}/users/{self.login}"}

    def _new_issue(self, repo: Repo, number: int | None, title: str, body: str,
                   labels: list[str]) -> dict[str, Any]:
        if number is None:
            number = max([0, *repo.issues]) + 1
        base = f"{self.url}/repos/{repo.full_name}"
        issue = {"number": number, "id": self._next_id(), "title": title, "body": body,
                 "state": "open", "labels": [{"name": name} for name in labels],
                 "url": f"{base}/issues/{number}",
                 "comments_url": f"{base}/issues/{number}/comments",
                 "html_url": f"https://github.com/{repo.full_name}/issues/{number}",
                 "user": self._user(), "created_at": _now(), "updated_at": _now(),
                 "comments": 0, "closed_at": None}
        repo.issues[number] = issue
        return issue

    def _new_comment(self, repo: Repo, number: int, body: str) -> dict[str, Any]:
        cid = self._next_id()
        base = f"{self.url}/repos/{repo.full_name}"
        comment = {"id": cid, "body": body, "user": self._user(),
                   "url": f"{base}/issues/comments/{cid}",
                   "html_url": f"https://github.com/{repo.full_name}/pull/{number}#issuecomment-"
                               f"{cid}",
                   "issue_url": f"{base}/issues/{number}", "created_at": _now(),
                   "updated_at": _now(), "_issue": number}
        repo.comments[cid] = comment
        repo.issues[number]["comments"] += 1
        return comment

    def _check_body(self, body: Any) -> None:
        if isinstance(body, str) and len(body) > self.body_limit:
            raise HTTPError(422, "Validation Failed: body is too long (maximum is "
                                 f"{self.body_limit} characters)")

    def _forbid(self, scope: str) -> None:
        if scope in self.forbidden_writes:
            raise HTTPError(403, "Resource not accessible by integration")

    def handle(self, method: str, path: str, query: dict[str, list[str]], body: Any,
               raw: bytes) -> tuple[int, Any, dict[str, str]]:
        """Route one request. Returns (status, JSON-able payload, extra headers)."""
        with self._lock:
            return self._route(method, path, query, body, raw)

    def _repo(self, owner: str, name: str) -> Repo:
        repo = self.repos.get(f"{owner}/{name}")
        if repo is None:
            raise HTTPError(404, "Not Found")
        return repo

    def _page(self, path: str, query: dict[str, list[str]], items: list[Any]
              ) -> tuple[int, Any, dict[str, str]]:
        per_page = min(int(query.get("per_page", ["30"])[0]), 100)
        page = int(query.get("page", ["1"])[0])
        start = (page - 1) * per_page
        chunk = items[start:start + per_page]
        last = max(1, -(-len(items) // per_page))
        links = []
        params = {k: v[0] for k, v in query.items()}

        def link(n: int, rel: str) -> str:
            query = urlencode({**params, "per_page": per_page, "page": n})
            return f'<{self.url}{path}?{query}>; rel="{rel}"'

        if page < last:
            links += [link(page + 1, "next"), link(last, "last")]
        if page > 1:
            links += [link(1, "first"), link(page - 1, "prev")]
        headers = {"Link": ", ".join(links)} if links else {}
        return 200, [_public(i) for i in chunk], headers

    def _route(self, method: str, path: str, query: dict[str, list[str]], body: Any,
               raw: bytes) -> tuple[int, Any, dict[str, str]]:
        m = re.fullmatch(r"/repos/([^/]+)/([^/]+)(/.*)?", path)
        if method == "GET" and path == "/user":
            return 200, self._user(), {}
        if m is None:
            m_up = re.fullmatch(r"/uploads/repos/([^/]+)/([^/]+)/releases/(\d+)/assets", path)
            if m_up and method == "POST":
                return self._upload(self._repo(m_up[1], m_up[2]), int(m_up[3]), query, raw)
            raise HTTPError(404, "Not Found")
        repo = self._repo(m[1], m[2])
        rest = m[3] or ""
        base = f"{self.url}/repos/{repo.full_name}"
        if rest == "" and method == "GET":
            return 200, {"full_name": repo.full_name, "name": m[2], "url": base,
                         "owner": {"login": m[1]}, "id": 1, "private": False}, {}

        r = re.fullmatch(r"/issues/(\d+)/comments", rest)
        if r:
            number = int(r[1])
            if number not in repo.issues:
                raise HTTPError(404, "Not Found")
            if method == "GET":
                items = sorted((c for c in repo.comments.values() if c["_issue"] == number),
                               key=lambda c: c["id"])
                return self._page(path, query, items)
            if method == "POST":
                self._forbid("comments")
                self._check_body(body.get("body"))
                return 201, _public(self._new_comment(repo, number, body["body"])), {}
        r = re.fullmatch(r"/issues/comments/(\d+)", rest)
        if r:
            comment = repo.comments.get(int(r[1]))
            if comment is None:
                raise HTTPError(404, "Not Found")
            if method == "GET":
                return 200, _public(comment), {}
            if method == "PATCH":
                self._forbid("comments")
                self._check_body(body.get("body"))
                comment["body"] = body["body"]
                comment["updated_at"] = _now()
                return 200, _public(comment), {}
            if method == "DELETE":
                self._forbid("comments")
                del repo.comments[comment["id"]]
                repo.issues[comment["_issue"]]["comments"] -= 1
                return 204, None, {}
        r = re.fullmatch(r"/issues/(\d+)", rest)
        if r:
            issue = repo.issues.get(int(r[1]))
            if issue is None:
                raise HTTPError(404, "Not Found")
            if method == "GET":
                return 200, _public(issue), {}
            if method == "PATCH":
                self._forbid("issues")
                self._check_body(body.get("body"))
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
                state = query.get("state", ["open"])[0]
                labels = [x for x in query.get("labels", [""])[0].split(",") if x]
                items = [i for i in sorted(repo.issues.values(), key=lambda i: -i["number"])
                         if (state == "all" or i["state"] == state)
                         and all(lb in {x["name"] for x in i["labels"]} for lb in labels)]
                return self._page(path, query, items)
            if method == "POST":
                self._forbid("issues")
                self._check_body(body.get("body"))
                issue = self._new_issue(repo, None, body["title"], body.get("body") or "",
                                        list(body.get("labels") or []))
                return 201, _public(issue), {}
        r = re.fullmatch(r"/pulls/(\d+)", rest)
        if r and method == "GET":
            pull = repo.pulls.get(int(r[1]))
            if pull is None:
                raise HTTPError(404, "Not Found")
            return 200, pull, {}
        r = re.fullmatch(r"/statuses/([0-9a-fA-F]+)", rest)
        if r and method == "POST":
            self._forbid("statuses")
            if body.get("state") not in {"error", "failure", "pending", "success"}:
                raise HTTPError(422, "Validation Failed: state")
            status = {"id": self._next_id(), "sha": r[1], "state": body["state"],
                      "context": body.get("context", "default"),
                      "description": body.get("description"),
                      "target_url": body.get("target_url"), "url": f"{base}/statuses/{r[1]}",
                      "created_at": _now(), "updated_at": _now()}
            repo.statuses.append(status)
            return 201, status, {}
        if rest == "/check-runs" and method == "POST":
            if self.check_runs_forbidden:
                raise HTTPError(403, "Resource not accessible by integration")
            run = {"id": self._next_id(), "name": body["name"], "head_sha": body["head_sha"],
                   "status": body.get("status", "queued"), "conclusion": body.get("conclusion"),
                   "output": body.get("output"), "url": f"{base}/check-runs/{self._ids}",
                   "html_url": f"https://github.com/{repo.full_name}/runs/{self._ids}"}
            repo.check_runs.append(run)
            return 201, run, {}
        if rest == "/releases":
            if method == "POST":
                self._forbid("releases")
                tag = body["tag_name"]
                if any(r["tag_name"] == tag for r in repo.releases.values()):
                    raise HTTPError(422, "Validation Failed: tag_name already_exists")
                rid = self._next_id()
                release = {"id": rid, "tag_name": tag, "name": body.get("name", tag),
                           "body": body.get("body", ""), "draft": body.get("draft", False),
                           "prerelease": body.get("prerelease", False),
                           "url": f"{base}/releases/{rid}",
                           "html_url": f"https://github.com/{repo.full_name}/releases/tag/{tag}",
                           "upload_url": f"{self.url}/uploads/repos/{repo.full_name}/releases/"
                                         f"{rid}/assets{{?name,label}}",
                           "assets": [], "created_at": _now(), "published_at": _now()}
                repo.releases[rid] = release
                return 201, release, {}
            if method == "GET":
                return self._page(path, query, sorted(repo.releases.values(),
                                                      key=lambda r: -r["id"]))
        r = re.fullmatch(r"/releases/tags/(.+)", rest)
        if r and method == "GET":
            for release in repo.releases.values():
                if release["tag_name"] == unquote(r[1]):
                    return 200, release, {}
            raise HTTPError(404, "Not Found")
        r = re.fullmatch(r"/releases/assets/(\d+)", rest)
        if r and method == "GET":
            for release in repo.releases.values():
                for asset in release["assets"]:
                    if asset["id"] == int(r[1]):
                        return 200, asset, {}
            raise HTTPError(404, "Not Found")
        raise HTTPError(404, "Not Found")

    def _upload(self, repo: Repo, rid: int, query: dict[str, list[str]], raw: bytes
                ) -> tuple[int, Any, dict[str, str]]:
        release = repo.releases.get(rid)
        if release is None:
            raise HTTPError(404, "Not Found")
        name = query.get("name", [""])[0]
        if not name:
            raise HTTPError(422, "Validation Failed: name")
        if any(a["name"] == name for a in release["assets"]):
            raise HTTPError(422, "Validation Failed: name already_exists")
        aid = self._next_id()
        asset = {"id": aid, "name": name, "label": query.get("label", [""])[0],
                 "size": len(raw), "state": "uploaded", "content_type": "application/octet-stream",
                 "url": f"{self.url}/repos/{repo.full_name}/releases/assets/{aid}",
                 "browser_download_url": f"https://github.com/{repo.full_name}/releases/download/"
                                         f"{release['tag_name']}/{name}",
                 "created_at": _now(), "updated_at": _now(), "download_count": 0}
        repo.assets[aid] = raw
        release["assets"].append(asset)
        return 201, asset, {}


def _public(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if not k.startswith("_")}


class _Handler(BaseHTTPRequestHandler):
    server_state: GitHubServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, payload: Any, headers: dict[str, str]) -> None:
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-RateLimit-Limit", "5000")
        self.send_header("X-RateLimit-Remaining", "4999")
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
        auth = self.headers.get("Authorization", "")
        if auth not in (f"token {gh.token}", f"Bearer {gh.token}"):
            self._send(401, {"message": "Bad credentials",
                             "documentation_url": "https://docs.github.com/rest"}, {})
            return
        body: Any = {}
        if raw and not path.startswith("/uploads/"):
            try:
                body = json.loads(raw)
            except ValueError:
                self._send(400, {"message": "Problems parsing JSON"}, {})
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
                raise HTTPError(fault.status, fault.message or _reason(fault.status),
                                fault.headers)
            status, payload, headers = gh.handle(method, path, query, body, raw)
            if fault is not None:  # applied, and yet the client sees an error
                raise HTTPError(fault.status, fault.message or _reason(fault.status),
                                fault.headers)
        except HTTPError as err:
            self._send(err.status, {"message": err.message,
                                    "documentation_url": "https://docs.github.com/rest"},
                       err.headers)
            return
        self._send(status, payload, headers)

    do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _serve


def _reason(status: int) -> str:
    return {429: "Too Many Requests", 502: "Bad Gateway", 503: "Service Unavailable",
            500: "Internal Server Error", 422: "Validation Failed",
            404: "Not Found"}.get(status, "Error")
