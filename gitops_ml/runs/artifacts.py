"""Model artifacts: skops archives in a canonical, byte-stable form, loaded safely.

skops (not pickle): a promotion job holds a write token, and a pickle from a pull request is
code. But a skops archive is not byte-stable: its zip entry names and the ``__id__`` fields of
its ``schema.json`` come from ``id()`` of the objects saved, and the zip timestamps from the
clock, so two identical trainings give different bytes. The artifact's sha256 is its identity
(the store, the run cache, the registry, ``reproduce``), so we write a *canonical* archive:

- every ``__id__`` is renumbered 1, 2, 3 ... in order of first appearance in schema.json,
  walked with sorted keys so that the form is idempotent (0 is
  avoided: skops treats a falsy id as "not memoised");
- every array file is renamed ``<n>.npy`` (or its own suffix) in order of first appearance, and
  schema.json's references follow;
- schema.json is written with sorted keys and no whitespace, entries in a fixed order with a
  fixed timestamp and fixed attributes, stored uncompressed (deflate output depends on the
  zlib build; stored bytes do not).

Loading is guarded by an exact allow-list (:func:`audit`). skops *calls* names from the archive
while it loads: an ``ObjectNode`` builds its class with ``__new__`` and ``__setstate__``, a
``ConstructorFromReduceNode`` or a loss node calls its ``__module__.__class__`` with arguments
from the file, a container node calls its type, a dict node calls its key types on the keys, and
every name is imported. So a rule by module prefix (``numpy.``, ``scipy.``, ``sklearn.``) lets an
archive call ``numpy.testing._private.utils.runstring`` (``exec``) or ``numpy.savetxt`` (writes a
file). We read ``schema.json`` ourselves and accept a node only when its loader is one we know and
its name is in that loader's exact set: the catalogue's estimators, named scikit-learn internals
(trees, losses, links, binners), named numpy and scipy types, numpy and scipy ufuncs, and a few
named functions. Anything else is refused with an :class:`~gitops_ml.errors.ArtifactError` naming
the type, before skops builds a single object.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

from gitops_ml.errors import ArtifactError

ARTIFACT_FORMAT = "skops"
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)

# --- the allow-list: exact names, by the loader that uses them ------------------------------

_BUILTIN_DATA = frozenset(f"builtins.{t}" for t in (
    "int", "float", "complex", "str", "bytes", "bytearray", "bool", "list", "tuple", "dict",
    "set", "frozenset", "slice", "NoneType"))
# the types skops stores for fitted arrays, scalars and dtypes (np.sctypeDict, spelled out)
NUMPY_SCALAR_TYPES = frozenset(f"numpy.{t}" for t in (
    "bool", "bool_", "bytes_", "str_", "void", "object_", "datetime64", "timedelta64",
    "int8", "int16", "int32", "int64", "longlong", "uint8", "uint16", "uint32", "uint64",
    "ulonglong", "float16", "float32", "float64", "longdouble", "complex64", "complex128",
    "clongdouble"))
NUMPY_BIT_GENERATORS = frozenset({"MT19937", "PCG64", "PCG64DXSM", "Philox", "SFC64"})
SCIPY_SPARSE_TYPES = frozenset(
    f"scipy.sparse._{fmt}.{fmt}_{kind}" for fmt in ("bsr", "coo", "csc", "csr", "dia", "dok", "lil")
    for kind in ("matrix", "array"))
# fitted state that scikit-learn's estimators hold but that are not estimators themselves
SKLEARN_INTERNAL_TYPES = frozenset({
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    # TreePredictor and Tree index their ``nodes`` arrays without bounds checks (skops does
    # not trust them by default for that reason): loads() checks every index after loading
    # (check_tree_indices), see docs/security.md
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.calibration._CalibratedClassifier", "sklearn.calibration._SigmoidCalibration",
    "sklearn.cluster._bisect_k_means._BisectingTree",
    "sklearn.gaussian_process._gpc._BinaryGaussianProcessClassifierLaplace",
    "sklearn.neighbors._kd_tree.KDTree", "sklearn.neighbors._ball_tree.BallTree",
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
    "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
    *(f"sklearn._loss.link.{n}" for n in (
        "HalfLogitLink", "IdentityLink", "Interval", "LogLink", "LogitLink", "MultinomialLogit")),
    *(f"sklearn._loss.loss.{n}" for n in (
        "AbsoluteError", "ExponentialLoss", "HalfBinomialLoss", "HalfGammaLoss",
        "HalfMultinomialLoss", "HalfPoissonLoss", "HalfSquaredError", "HalfTweedieLoss",
        "HalfTweedieLossIdentity", "HuberLoss", "PinballLoss")),
    *(f"sklearn.gaussian_process.kernels.{n}" for n in (
        "CompoundKernel", "ConstantKernel", "DotProduct", "ExpSineSquared", "Exponentiation",
        "Matern", "PairwiseKernel", "Product", "RBF", "RationalQuadratic", "Sum", "WhiteKernel")),
    *(f"sklearn.metrics._dist_metrics.{n}Distance64" for n in (
        "Euclidean", "SEuclidean", "Manhattan", "Chebyshev", "Minkowski", "Mahalanobis",
        "Hamming", "Canberra", "BrayCurtis", "Jaccard", "Dice", "Haversine")),
    "scipy.interpolate._bsplines.BSpline",
})
# losses are built by calling the class with arguments from the file
SKLEARN_LOSSES = frozenset({
    *(f"sklearn._loss._loss.Cy{n}" for n in (
        "AbsoluteError", "ExponentialLoss", "HalfBinomialLoss", "HalfGammaLoss",
        "HalfMultinomialLoss", "HalfPoissonLoss", "HalfSquaredError", "HalfTweedieLoss",
        "HalfTweedieLossIdentity", "HuberLoss", "PinballLoss")),
    *(f"sklearn.linear_model._sgd_fast.{n}" for n in (
        "EpsilonInsensitive", "Hinge", "ModifiedHuber", "SquaredEpsilonInsensitive",
        "SquaredHinge", "Huber", "Log", "SquaredLoss")),
})
# functions an estimator may hold (score functions, FunctionTransformer's func); numpy's and
# scipy.special's ufuncs are added by name in _functions()
NAMED_FUNCTIONS = frozenset({
    *(f"sklearn.feature_selection._univariate_selection.{n}" for n in (
        "f_classif", "f_regression", "r_regression", "chi2", "f_oneway")),
    "sklearn.feature_selection._mutual_info.mutual_info_classif",
    "sklearn.feature_selection._mutual_info.mutual_info_regression",
    "sklearn.cluster._kmeans._kmeans_single_lloyd", "sklearn.cluster._kmeans._kmeans_single_elkan",
    *(f"numpy.{n}" for n in ("mean", "median", "sum", "std", "var", "min", "max", "nanmean",
                             "nanmedian", "average")),
    "sklearn.utils.validation.check_array", "scipy._lib.array_api_compat.numpy._aliases.asarray",
    "functools.partial",
})


def _functions() -> frozenset[str]:
    """NAMED_FUNCTIONS plus every ufunc of numpy and scipy.special, each by its own name."""
    global _FUNCTIONS
    if _FUNCTIONS is None:
        import warnings

        import numpy as np
        import scipy.special

        names = set(NAMED_FUNCTIONS)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for module, prefix in ((np, "numpy"), (scipy.special, "scipy.special")):
                for attr in dir(module):
                    obj = getattr(module, attr, None)
                    if isinstance(obj, np.ufunc) or type(obj).__name__ == "ufunc_wrapper":
                        names.add(f"{prefix}.{attr}")
        _FUNCTIONS = frozenset(names)
    return _FUNCTIONS


_FUNCTIONS: frozenset[str] | None = None
_ESTIMATORS: dict[str, bool] = {}


def is_catalogue_estimator(name: str) -> bool:
    """``name`` (a defining module + class, as skops writes it) is an estimator, transformer
    or meta-estimator of the catalogue. Only modules the catalogue names are imported."""
    if name in _ESTIMATORS:
        return _ESTIMATORS[name]
    import importlib

    from gitops_ml.project import catalogue

    found = False
    cls_name = name.rsplit(".", 1)[-1]
    cat = catalogue.load()
    for path in (cat.names() if cat is not None else []):
        module, _, attr = path.rpartition(".")
        if attr != cls_name or not module.startswith("sklearn."):
            continue
        cls = getattr(importlib.import_module(module), attr, None)
        if isinstance(cls, type) and f"{cls.__module__}.{cls.__qualname__}" == name:
            found = True
            break
    _ESTIMATORS[name] = found
    return found


def _classes(name: str) -> bool:
    return (name in SKLEARN_INTERNAL_TYPES or name in SCIPY_SPARSE_TYPES
            or (name.startswith("sklearn.") and is_catalogue_estimator(name)))


def _types(name: str) -> bool:
    return (name in _BUILTIN_DATA or name in NUMPY_SCALAR_TYPES
            or name in {"builtins.type", "builtins.object", "numpy.ndarray", "numpy.dtype"}
            or _classes(name))


# loader -> the test its ``__module__.__class__`` must pass; loaders not listed (MethodNode,
# OperatorFuncNode, ConstructorFromReduceNode, anything new) are refused
_BY_LOADER: dict[str, Any] = {
    "ObjectNode": _classes,
    "TreeNode": lambda n: n == "sklearn.tree._tree.Tree",
    "LossNode": lambda n: n in SKLEARN_LOSSES,
    "NdArrayNode": lambda n: n == "numpy.ndarray" or n in NUMPY_SCALAR_TYPES,
    "DTypeNode": lambda n: n == "numpy.dtype",
    "MaskedArrayNode": lambda n: n == "numpy.ma.core.MaskedArray",
    "RandomStateNode": lambda n: n == "numpy.random.mtrand.RandomState",
    "RandomGeneratorNode": lambda n: n == "numpy.random._generator.Generator",
    "SparseMatrixNode": lambda n: n in SCIPY_SPARSE_TYPES,
    "DictNode": lambda n: n in {"builtins.dict", "collections.OrderedDict"},
    "DefaultDictNode": lambda n: n == "collections.defaultdict",
    "ListNode": lambda n: n == "builtins.list",
    "SetNode": lambda n: n == "builtins.set",
    "TupleNode": lambda n: n == "builtins.tuple",
    "SliceNode": lambda n: n == "builtins.slice",
    "BytesNode": lambda n: n == "builtins.bytes",
    "BytearrayNode": lambda n: n == "builtins.bytearray",
    "JsonNode": lambda n: n in _BUILTIN_DATA,
    "PartialNode": lambda n: n == "functools.partial",
    "FunctionNode": lambda n: n in _functions(),
    "TypeNode": _types,
    "CachedNode": lambda n: True,  # builds nothing: it names a node checked where it stands
}


def is_trusted_type(name: str, loader: str = "ObjectNode") -> bool:
    """``name`` may be loaded by skops' ``loader``: exact names only, never a module prefix."""
    check = _BY_LOADER.get(loader)
    return bool(check is not None and check(name))


def audit(data: bytes, *, source: str = "artifact") -> list[str]:
    """Check every node of the archive against the allow-list before anything is built.

    Returns the names found (what skops is then told to trust); raises ArtifactError naming
    the refused types otherwise. Nothing is imported but numpy, scipy.special and the
    catalogue's own scikit-learn modules.
    """
    try:
        schema = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("schema.json"))
    except (zipfile.BadZipFile, KeyError, ValueError, RecursionError, OSError) as exc:
        raise ArtifactError(f"{source}: corrupt model artifact ({type(exc).__name__}: {exc})",
                            hint="the file is not a skops archive") from exc
    names: set[str] = set()
    refused: set[str] = set()
    stack: list[Any] = [schema]
    while stack:  # iterative: a deeply nested schema must not blow the stack here
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        stack.extend(node.values())
        if not any(k in node for k in ("__loader__", "__module__", "__class__")):
            continue
        loader, module, cls = node.get("__loader__"), node.get("__module__"), node.get("__class__")
        if not (isinstance(loader, str) and isinstance(module, str) and isinstance(cls, str)):
            refused.add(f"{module}.{cls} (loader {loader})")
            continue
        name = f"{module}.{cls}"
        if loader == "RandomGeneratorNode":
            bit = _bit_generator_name(node)
            if bit not in NUMPY_BIT_GENERATORS:
                refused.add(f"numpy.random.{bit}")
        if is_trusted_type(name, loader):
            names.add(name)
        else:
            refused.add(name if loader in _BY_LOADER else f"{name} (loader {loader})")
    if refused:
        shown = sorted(refused)
        text = ", ".join(shown[:5]) + (f" and {len(shown) - 5} more" if len(shown) > 5 else "")
        raise ArtifactError(f"{source}: refusing to load untrusted types: {text}",
                            hint="artifacts may hold only the catalogue's estimators and named "
                                 "scikit-learn, numpy and scipy types (docs/security.md)")
    return sorted(names)


def _bit_generator_name(node: dict[str, Any]) -> str:
    try:
        raw = node["content"]["bit_generator"]["content"]["bit_generator"]["content"]
        name = json.loads(raw)
    except (KeyError, TypeError, ValueError):
        return "<missing>"
    return name if isinstance(name, str) else "<missing>"


def canonicalize(data: bytes) -> bytes:
    """Rewrite a skops archive in the canonical form described in the module docstring."""
    try:
        src = zipfile.ZipFile(io.BytesIO(data))
        schema = json.loads(src.read("schema.json"))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise ArtifactError(f"not a skops archive: {exc}") from exc
    names = set(src.namelist())
    ids: dict[Any, int] = {}
    files: dict[str, str] = {}

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            out: dict[str, Any] = {}
            for key, value in sorted(node.items()):  # sorted: canonicalize is idempotent
                if key == "__id__" and isinstance(value, int):
                    out[key] = ids.setdefault(value, len(ids) + 1)
                elif key == "file" and isinstance(value, str) and value in names:
                    if value not in files:
                        suffix = Path(value).suffix
                        files[value] = f"{len(files) + 1}{suffix}"
                    out[key] = files[value]
                else:
                    out[key] = walk(value)
            return out
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    canonical_schema = walk(schema)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as out:
        _write_entry(out, "schema.json",
                     json.dumps(canonical_schema, sort_keys=True, separators=(",", ":")).encode())
        for old, new in files.items():
            _write_entry(out, new, src.read(old))
    return buf.getvalue()


def _write_entry(archive: zipfile.ZipFile, name: str, payload: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
    info.compress_type = zipfile.ZIP_STORED
    info.create_system = 3
    info.external_attr = 0o644 << 16
    archive.writestr(info, payload)


def dumps(model: Any) -> bytes:
    """A fitted model as canonical skops bytes."""
    import skops.io as sio

    try:
        raw = sio.dumps(model)
    except Exception as exc:  # skops refuses objects it cannot represent without pickle
        raise ArtifactError(f"cannot save the model with skops: {type(exc).__name__}: {exc}",
                            hint="use estimators and functions from scikit-learn, numpy or "
                                 "scipy") from exc
    return canonicalize(raw)


def loads(data: bytes, *, source: str = "artifact") -> Any:
    """Load canonical (or plain) skops bytes that pass :func:`audit`."""
    import skops.io as sio

    found = audit(data, source=source)
    try:
        model = sio.loads(data, trusted=found)
    except ArtifactError:
        raise
    except Exception as exc:  # RecursionError, skops' own refusals, corrupt arrays
        raise ArtifactError(f"{source}: corrupt model artifact ({type(exc).__name__}: {exc})")\
            from exc
    check_tree_indices(model, source=source)
    return model


def check_tree_indices(model: Any, *, source: str = "artifact") -> None:
    """Every tree's child, feature and bitset indices are in range.

    scikit-learn walks ``Tree`` and ``TreePredictor`` node arrays without bounds checks (why
    skops does not trust them by default): an archive with an index out of range would read
    or write outside an array at the first prediction. Checked once, after loading."""
    import numpy as np

    seen: set[int] = set()
    stack: list[tuple[Any, int | None]] = [(model, None)]
    while stack:
        obj, n_features = stack.pop()
        if id(obj) in seen or isinstance(obj, (str, bytes, int, float, type(None))):
            continue
        seen.add(id(obj))
        name = type(obj).__name__
        if name == "Tree" and type(obj).__module__ == "sklearn.tree._tree":
            n = int(obj.node_count)
            left, right, feature = obj.children_left, obj.children_right, obj.feature
            internal = left != -1
            bad = bool(np.any((left < -1) | (left >= n) | (right < -1) | (right >= n))
                       or np.any((right == -1) != ~internal)
                       or np.any(internal & ((feature < 0) | (feature >= int(obj.n_features)))))
            if bad:
                raise ArtifactError(f"{source}: a decision tree's node indices are out of "
                                    "range; refused (a crafted artifact)")
            continue
        if name == "TreePredictor":
            nodes = obj.nodes
            n = len(nodes)
            internal = nodes["is_leaf"] == 0
            bitsets = len(getattr(obj, "raw_left_cat_bitsets", ()))
            limit = n_features if n_features is not None else np.iinfo(np.int64).max
            cat = internal & (nodes["is_categorical"] != 0)
            bad = bool(np.any(internal & ((nodes["left"] >= n) | (nodes["right"] >= n)
                                          | (nodes["left"] <= 0) | (nodes["right"] <= 0)))
                       or np.any(internal & (nodes["feature_idx"] >= limit))
                       or np.any(cat & (nodes["bitset_idx"] >= bitsets))
                       or len(getattr(obj, "binned_left_cat_bitsets", ())) != bitsets)
            if bad:
                raise ArtifactError(f"{source}: a gradient-boosting tree's node indices are "
                                    "out of range; refused (a crafted artifact)")
            continue
        if isinstance(obj, dict):
            stack.extend((v, n_features) for v in obj.values())
        elif isinstance(obj, (list, tuple)):
            stack.extend((v, n_features) for v in obj)
        elif isinstance(obj, np.ndarray):
            if obj.dtype == object:
                stack.extend((v, n_features) for v in obj.ravel())
        elif hasattr(obj, "__dict__"):
            width = getattr(obj, "n_features_in_", None)
            stack.extend((v, width if isinstance(width, int) else n_features)
                         for v in vars(obj).values())


def load(path: str | Path) -> Any:
    """Load an artifact file (see :func:`loads`); missing files are an ArtifactError."""
    p = Path(path)
    if not p.is_file():
        raise ArtifactError(f"{p}: model artifact not found")
    return loads(p.read_bytes(), source=str(p))
