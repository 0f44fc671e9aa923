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
    """One diagnosis: its kind, severity, layer (dotted module name), when, evidence and remedies."""

    kind: str
    severity: str
    layer: str | None
    step: int
    epoch: int
    evidence: dict[str, Any]
    explanation: str
    remedies: list[Remedy] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Finding: kind must be one of {KINDS}, got {self.kind!r}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"Finding: severity must be one of {SEVERITIES}, got {self.severity!r}")

    @property
    def title(self) -> str:
        return self.kind.replace("_", " ")

    def summary(self) -> str:
        """One line: kind, where and when, and the headline evidence."""
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
        )
