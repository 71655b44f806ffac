"""Secrets never reach a message: URL userinfo, GitHub token shapes, secret-named variables."""

from __future__ import annotations

import json

from gitops_ml.errors import ExitCode, scrub_secrets

TOKEN = "ghp_0123456789abcdefghijABCDEFGHIJ012345"


def test_a_token_inside_github_api_url_is_not_printed(tmp_path, gml) -> None:
    report = tmp_path / "r.md"
    report.write_text("<!-- gitops-ml:model=churn -->\nhello\n")
    env = {"GITHUB_TOKEN": "ghs_other_token_value_123", "GITHUB_REPOSITORY": "acme/models",
           "GITHUB_API_URL": f"http://x-access-token:{TOKEN}@127.0.0.1:9",
           "GITOPS_ML_GITHUB_RETRIES": "0", "GITOPS_ML_GITHUB_BACKOFF": "0"}
    for output in ("text", "json"):
        r = gml("comment", str(report), "--pr", "3", "-o", output, cwd=tmp_path, env=env)
        assert r.exit_code == ExitCode.GITHUB, r.output
        assert TOKEN not in r.output and "ghs_other_token_value_123" not in r.output
        assert "x-access-token" not in r.output
        assert "cannot reach GitHub at http://***@127.0.0.1:9" in r.output
        if output == "json":
            json.loads(r.stdout)


def test_scrub_secrets_covers_urls_token_shapes_and_secret_variables() -> None:
    env = {"MY_SERVICE_PASSWORD": "hunter2hunter2", "AWS_SECRET_ACCESS_KEY": "abcd/efgh+ijkl",
           "HOME": "/home/runner"}
    text = (f"s3://AKIA:abcd/efgh+ijkl@bucket/x https://u:p@example.com/a {TOKEN} "
            "github_pat_11ABCDEFG0123456789_abcdefghijklmnop pw=hunter2hunter2 /home/runner")
    out = scrub_secrets(text, env)
    assert "abcd/efgh+ijkl" not in out and "u:p@" not in out and TOKEN not in out
    assert "github_pat_" not in out and "hunter2hunter2" not in out
    assert "https://***@example.com/a" in out and "/home/runner" in out
