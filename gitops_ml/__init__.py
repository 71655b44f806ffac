"""gitops-ml: a GitOps framework for machine-learning models on GitHub Actions.

The public API is re-exported here: the verbs of :mod:`gitops_ml.api` (``train_model``,
``evaluate_model``, ``promote_model``, ...), their frozen result types, the CI context, and the
demo (:func:`run_demo`). They are imported on first use (PEP 562), so ``import gitops_ml`` costs
nothing beyond this file and the command line's light paths stay light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gitops_ml.version import __version__

if TYPE_CHECKING:
    from gitops_ml.api import (
        NO_CI,
        AddResult,
        CIContext,
        Diagnosis,
        DriftResult,
        EvaluationResult,
        History,
        InitResult,
        ItemResult,
        Lineage,
        ModelState,
        MonitorResult,
        PlanResult,
        Progress,
        PromotionResult,
        RegisteredCard,
        RegistryList,
        ReleasePublisher,
        Reporter,
        ReportResult,
        Reproduction,
        StageChange,
        TrainResult,
        TransferResult,
        ValidationResult,
        VerifyResult,
        VersionDetail,
        data_add,
        data_pull,
        data_push,
        data_verify,
        deprecate_model,
        drift_model,
        drift_text,
        evaluate_model,
        fairness_label,
        init_project,
        json_schema,
        lineage_text,
        list_models,
        model_card,
        model_history,
        model_lineage,
        monitor_model,
        plan,
        promote_model,
        registry_doctor,
        report_model,
        reproduce_model,
        rollback_model,
        show_model,
        train_model,
        validate,
    )
    from gitops_ml.demo import DemoResult, DemoStep, run_demo

_DEMO = ("DemoResult", "DemoStep", "run_demo")

__all__ = [
    "NO_CI",
    "AddResult",
    "CIContext",
    "DemoResult",
    "DemoStep",
    "Diagnosis",
    "DriftResult",
    "EvaluationResult",
    "History",
    "InitResult",
    "ItemResult",
    "Lineage",
    "ModelState",
    "MonitorResult",
    "PlanResult",
    "Progress",
    "PromotionResult",
    "RegisteredCard",
    "RegistryList",
    "ReleasePublisher",
    "ReportResult",
    "Reporter",
    "Reproduction",
    "StageChange",
    "TrainResult",
    "TransferResult",
    "ValidationResult",
    "VerifyResult",
    "VersionDetail",
    "__version__",
    "data_add",
    "data_pull",
    "data_push",
    "data_verify",
    "deprecate_model",
    "drift_model",
    "drift_text",
    "evaluate_model",
    "fairness_label",
    "init_project",
    "json_schema",
    "lineage_text",
    "list_models",
    "model_card",
    "model_history",
    "model_lineage",
    "monitor_model",
    "plan",
    "promote_model",
    "registry_doctor",
    "report_model",
    "reproduce_model",
    "rollback_model",
    "run_demo",
    "show_model",
    "train_model",
    "validate",
]


def __getattr__(name: str) -> Any:
    if name in _DEMO:
        from gitops_ml import demo

        return getattr(demo, name)
    if name in __all__:
        from gitops_ml import api

        return getattr(api, name)
    raise AttributeError(f"module 'gitops_ml' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
