"""The messages of registry tags: a subject line and a JSON body (the version's manifest for a
registration, a smaller record for stage and deregistration tags)."""

from __future__ import annotations

import json
from typing import Any

MANIFEST_SCHEMA = "gitops-ml/manifest"
MANIFEST_VERSION = 1


def parse_manifest(message: str) -> dict[str, Any] | None:
    """The JSON manifest in a tag message: the whole message, or the body after a subject."""
    text = message.strip()
    candidates = [text]
    if "\n\n" in text:
        candidates.append(text.split("\n\n", 1)[1].strip())
    for candidate in candidates:
        if candidate.startswith("{"):
            try:
                data = json.loads(candidate)
            except ValueError:
                continue
            if isinstance(data, dict):
                return data
    return None


def tag_message(subject: str, payload: dict[str, Any]) -> str:
    """A tag message: the subject line, a blank line, then the JSON payload."""
    return f"{subject}\n\n{json.dumps(payload, indent=1, sort_keys=True, default=str)}\n"


def stage_message(model: str, stage: str, version: str, action: str,
                  extra: dict[str, Any] | None = None) -> str:
    payload = {"schema": MANIFEST_SCHEMA, "schema_version": MANIFEST_VERSION, "action": action,
               "model": model, "stage": stage, "version": version, **(extra or {})}
    verb = "Assign" if action == "assign" else "Unassign"
    return tag_message(f"{verb} {model} {version} {'to' if action == 'assign' else 'from'} "
                       f"{stage}", payload)


def manifest_message(manifest: dict[str, Any]) -> str:
    run_key = str(manifest.get("run_key") or "")[:12]
    return tag_message(f"Register {manifest['model']} {manifest['version']}"
                       + (f" (run {run_key})" if run_key else ""), manifest)

