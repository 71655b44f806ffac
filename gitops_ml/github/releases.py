"""GitHub Releases for the registry (``registry: github``): a release per version tag with the
artifact and the model card attached.

Idempotent for reruns: when the release for ``tag`` exists already (422 already_exists), it is
reused and only the assets it lacks are uploaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from github import GithubException

from gitops_ml.errors import GitHubError
from gitops_ml.github.client import GitHubClient

PERMISSION = "contents: write"


@dataclass(frozen=True)
class ReleaseAsset:
    name: str
    size: int
    url: str


@dataclass(frozen=True)
class ReleaseResult:
    tag: str
    release_id: int
    url: str
    created: bool
    assets: tuple[ReleaseAsset, ...]


def create_release(repo: str, tag: str, name: str, body: str,
                   assets: Sequence[Path | str] = (), *, client: GitHubClient | None = None,
                   draft: bool = False, prerelease: bool = False) -> ReleaseResult:
    """Create (or reuse) the release for ``tag`` in ``repo`` (OWNER/NAME) and upload ``assets``.

    ``client`` defaults to one built from the environment (GITHUB_TOKEN, GITHUB_API_URL).
    The tag must exist (or GitHub creates it from the default branch).
    """
    client = client or GitHubClient.from_env()
    paths = [Path(a) for a in assets]
    for path in paths:
        if not path.is_file():
            raise GitHubError(f"release asset not found: {path}")
    with client.translate(f"creating release {tag} in {repo}", permission=PERMISSION,
                          missing=f"repository {repo}"):
        r = client.repo(repo)
        created = True
        try:
            release = r.create_git_release(tag, name, body[:125000], draft=draft,
                                           prerelease=prerelease)
        except GithubException as exc:
            if exc.status != 422 or "already_exists" not in str(exc.data):
                raise
            release = r.get_release(tag)
            created = False
        have = {a.name: a for a in release.assets} if not created else {}
        uploaded = []
        for path in paths:
            if path.name in have:
                a = have[path.name]
            else:
                a = release.upload_asset(str(path), name=path.name,
                                         content_type="application/octet-stream")
            uploaded.append(ReleaseAsset(a.name, a.size, a.browser_download_url))
        return ReleaseResult(tag, release.id, release.html_url, created, tuple(uploaded))


class GitHubReleases:
    """The release publisher ``promote`` takes for ``registry: github``
    (:class:`gitops_ml.promote.promotion.ReleasePublisher`): the CLI passes one in, so the
    core never imports this adapter."""

    def __init__(self, client: GitHubClient | None = None) -> None:
        self.client = client

    def publish(self, repository: str, tag: str, title: str, body: str,
                assets: Sequence[Path]) -> str:
        return create_release(repository, tag, title, body, assets, client=self.client).url
