"""The GitHub adapter: the only package in gitops-ml that imports PyGithub.

- :mod:`.client`: a lazy PyGithub client with a retry policy and error translation;
- :mod:`.comments`: one sticky pull-request comment per model, found by a hidden marker;
- :mod:`.checks`: a check run (or a commit status when the token cannot create one);
- :mod:`.monitor_issue`: one drift issue per model, opened, updated and closed;
- :mod:`.releases`: GitHub Releases with assets, for the registry;
- :mod:`.publish`: ``gitops-ml comment`` (report or fork-safe bundle to comment and status).
"""

from __future__ import annotations

from gitops_ml.github.client import ClientSettings, GitHubClient, RetryPolicy

__all__ = ["ClientSettings", "GitHubClient", "RetryPolicy"]
