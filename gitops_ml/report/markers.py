"""The hidden markers gitops-ml writes into Markdown, in one grammar, and the cleaning of text
that came from a pull request before it is posted.

A marker is an HTML comment ``<!-- gitops-ml:KIND=VALUE -->``. The sticky comment of a model
begins with its model marker (and, in a rendered report, the gates marker on the next line); a
drift issue carries ``<!-- gitops-ml:drift-issue:model=NAME -->``. They are defined here only:
the renderer, the comment poster and the issue writer all use these functions.

Text from a bundle or a report file is untrusted: it may carry markers of its own (to make one
model's report overwrite another's comment), @-mentions of people and teams, and remote images
(which would make every reader's browser fetch a URL the author chose). :func:`sanitise`
neutralises all three, to a fixed point.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile(r"[^A-Za-z0-9_.:/@+-]")
_VALUE = r"[A-Za-z0-9_.:/@+-]+"
OUTCOMES = ("passed", "failed", "none")
# what a report begins with: its model marker, then optionally its gates marker
_LEADING = re.compile(rf"\A<!-- gitops-ml:model=({_VALUE}) -->\n"
                      rf"(?:<!-- gitops-ml:gates=({'|'.join(OUTCOMES)}) -->\n)?")
# any opening of a gitops-ml comment, however spaced or cased
_ANY_MARKER = re.compile(r"<!--(\s*)(gitops-ml)", re.IGNORECASE)
# an @ that GitHub would turn into a mention (of a user, or of an org's team)
_MENTION = re.compile(r"(?<![\w`@])@(?=[A-Za-z0-9])")
# ![alt](url) and ![alt][ref]: the image becomes a link
_IMAGE = re.compile(r"!(?=\[)")
_IMAGE_TAGS = re.compile(r"<(?=/?\s*(?:img|picture|source|video|image|svg)\b)", re.IGNORECASE)
ZWJ = "\u200d"


def _safe(model: str) -> str:
    return _UNSAFE.sub("_", model)


def model_marker(model: str) -> str:
    """The marker that names a model's sticky comment."""
    return f"<!-- gitops-ml:model={_safe(model)} -->"


def gates_marker(outcome: str) -> str:
    return f"<!-- gitops-ml:gates={outcome} -->"


def drift_issue_marker(model: str) -> str:
    return f"<!-- gitops-ml:drift-issue:model={_safe(model)} -->"


def leading(text: str) -> tuple[str | None, str | None, str]:
    """The model and gates named by the markers ``text`` begins with, and the rest."""
    m = _LEADING.match(text)
    if m is None:
        return None, None, text
    return m.group(1), m.group(2), text[m.end():]


def neutralise_markers(text: str) -> str:
    """Every ``<!-- gitops-ml`` opening becomes visible text (``&lt;!-- gitops-ml``).

    Repeated until nothing changes, so that no nesting can leave a marker behind."""
    while True:
        cleaned = _ANY_MARKER.sub(r"&lt;!--\1\2", text)
        if cleaned == text:
            return cleaned
        text = cleaned


def sanitise(text: str) -> str:
    """Untrusted Markdown made safe to post: no markers, no mentions, no remote images."""
    text = neutralise_markers(text)
    text = _MENTION.sub("@" + ZWJ, text)
    text = _IMAGE.sub("", text)
    return _IMAGE_TAGS.sub("&lt;", text)


def compose(model: str, text: str, outcome: str | None = None) -> str:
    """A comment body: the model's marker (and gates marker), then ``text`` sanitised.

    Markers ``text`` begins with are dropped first (the caller has read and checked them)."""
    _, _, rest = leading(text)
    head = model_marker(model) + "\n"
    if outcome is not None:
        head += gates_marker(outcome) + "\n"
    return head + sanitise(rest)
