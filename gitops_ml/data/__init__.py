"""Data: what a spec's data refs name, and getting verified bytes behind them.

One concept a module, in import order:

- :mod:`~gitops_ml.data.pointers`: refs to :class:`~gitops_ml.data.pointers.DataPointer`
  (pointer files, inline pointers, ``.dvc`` files, paths, URIs), never reading the data;
- :mod:`~gitops_ml.data.remote`: fsspec transfers (http(s), s3 …), timeouts, transfer errors;
- :mod:`~gitops_ml.data.tables`: reading a header or a table (csv, parquet, jsonl);
- :mod:`~gitops_ml.data.cache`: the content-addressed cache and verified local copies;
- :mod:`~gitops_ml.data.categorical`: categorical values as labels, one spelling for all;
- :mod:`~gitops_ml.data.checks`: data contract, automatic checks, checks before training;
- :mod:`~gitops_ml.data.sync`: the ``data add/push/pull/verify`` verbs.
"""
