"""What the doctor reports: a Finding (what is wrong, where, the evidence) and its ranked Remedies."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

KINDS = (
    "non_finite",
    "exploding_gradients",
    "vanishing_gradients",
    "dead_relu",
    "saturation",
    "overfitting",
    "learning_rate_too_high",
    "learning_rate_too_low",
    "bad_initialization",
    "not_converged",
    "unscaled_inputs",
)
SEVERITIES = ("info", "warning", "error")


@dataclass
class Remedy:
    """One concrete fix: words for the learner and a ``change`` that "try the fix" applies.

    ``change`` keys are MLPSpec fields (activation, init, batch_norm, dropout, hidden, ...) or
    fit arguments (lr, clip_grad_norm, epochs, optimizer).

    >>> Remedy("lower the learning rate from 0.1 to 0.01", {"lr": 0.01}).to_dict()["change"]
    {'lr': 0.01}
    """

    description: str
    change: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"description": self.description, "change": dict(self.change)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Remedy:
        return cls(d["description"], dict(d.get("change", {})))


@dataclass
class Finding:
    """One diagnosis: its kind, severity, layer (dotted module name), when, evidence and remedies.

    ``step``, ``epoch`` and ``evidence`` are those of the moment it was first reported and never change;
    each later observation of the same problem is appended to ``updates`` (step, epoch, layer and the
    new evidence), a separate series.
    """

    kind: str
    severity: str
    layer: str | None
    step: int
    epoch: int
    evidence: dict[str, Any]
    explanation: str
    remedies: list[Remedy] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Finding: kind must be one of {KINDS}, got {self.kind!r}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"Finding: severity must be one of {SEVERITIES}, got {self.severity!r}")

    @property
    def title(self) -> str:
        return self.kind.replace("_", " ")

    @property
    def last_step(self) -> int:
        """The step it was last observed at (its first step when it was seen once)."""
        return int(self.updates[-1]["step"]) if self.updates else self.step

    @property
    def last_epoch(self) -> int:
        return int(self.updates[-1]["epoch"]) if self.updates else self.epoch

    def __repr__(self) -> str:
        return f"Finding({self.summary()})"

    def _repr_html_(self) -> str:
        """The finding as the report shows it (notebooks call this to display it)."""
        from chainrule.doctor.report import finding_html

        return finding_html(self)

    def summary(self) -> str:
        """One line: kind, where and when, and the evidence that triggered it."""
        where = f" at {self.layer}" if self.layer else ""
        headline = self.evidence.get("summary", "")
        return f"[{self.severity}] {self.kind}{where} (epoch {self.epoch}, step {self.step}): {headline}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "severity": self.severity,
            "layer": self.layer,
            "step": self.step,
            "epoch": self.epoch,
            "evidence": dict(self.evidence),
            "explanation": self.explanation,
            "remedies": [r.to_dict() for r in self.remedies],
            "updates": [dict(u) for u in self.updates],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Finding:
        """Rebuild a Finding from ``to_dict()`` output (e.g. a saved diagnoses.json)."""
        missing = {"kind", "severity", "step", "epoch"} - set(d)
        if missing:
            raise KeyError(f"Finding.from_dict: missing key(s) {sorted(missing)} in {sorted(d)}")
        return cls(
            kind=d["kind"],
            severity=d["severity"],
            layer=d.get("layer"),
            step=int(d["step"]),
            epoch=int(d["epoch"]),
            evidence=dict(d.get("evidence", {})),
            explanation=d.get("explanation", ""),
            remedies=[Remedy.from_dict(r) for r in d.get("remedies", [])],
            updates=[dict(u) for u in d.get("updates", [])],
        )


class Findings(list[Finding]):
    """The doctor's findings: a plain list that a notebook shows as the report's cards.

    >>> Findings()
    []
    """

    def _repr_html_(self) -> str:
        from chainrule.doctor.report import findings_html

        return findings_html(self)
