"""The Git-tag model registry, in GTO's tag grammar (so ``gto show`` reads it too).

One concept per module, in import order:

- :mod:`.tags`: the tag grammar (a template per action, the regex that parses every tag) and
  SemVer precedence;
- :mod:`.manifest`: the tag messages (a subject and a JSON body);
- :mod:`.events`: every registry tag read with one ``git for-each-ref``;
- :mod:`.state`: the tags replayed into versions and stages, as GTO reads them;
- :mod:`.queries`: ``list`` (with its cache), ``show``, ``history``, references;
- :mod:`.writes`: creating and pushing tags, racing safely;
- :mod:`.verbs`: register, rollback, deregister, deprecate, and the check after a write;
- :mod:`.doctor`: the tags that make gitops-ml and GTO disagree, and stages held against the
  rules.
"""
