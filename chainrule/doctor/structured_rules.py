"""The diagnoses of convolutional, recurrent and residual layers, read from ``NetStats`` (structured.py).

They reuse the doctor's kinds and thresholds (config.py), each with a ``variant`` in its evidence that
structured_texts.py words:

* ``dead_relu`` / ``channels``: a conv-fed ReLU with a majority of its channels (filters) silent on every
  position of every training sample, more than the healthy dead rate explains at that width (the Rulebook's
  test for a Linear's units, with filters as the units), ``epoch_persistence`` epochs in a row; the channels
  are named.
* ``vanishing_gradients`` / ``through_time``: the epoch median of RMS(∂loss/∂h_first) / RMS(∂loss/∂h_last)
  of a recurrent layer below ``vanishing_ratio`` while training stalls: AUTOTRAINER's first/last ratio,
  taken along time instead of depth (Bengio, Simard & Frasconi 1994; Pascanu, Mikolov & Bengio 2013).
* ``exploding_gradients`` / ``through_time``: that ratio above 1 / ``vanishing_ratio`` while the loss is not
  improving, ``epoch_persistence`` epochs in a row.
* ``saturation`` / ``gates``: an LSTM/GRU gate with at least ``saturation_fraction`` of its activations outside
  [``saturation_output``, 1 - ``saturation_output``] (the band Saturation uses), ``epoch_persistence`` epochs in
  a row, while training stalls (a gate pinned open or shut on purpose is how a working LSTM remembers).

Residual blocks are measured (``residual_ratio``) and drawn, not judged: a branch that passes little gradient
next to its skip path is what makes a deep residual network trainable, not a failure.
"""

from __future__ import annotations

import math

from chainrule.doctor.config import DoctorConfig
from chainrule.doctor.rules import Rulebook, Verdict, num
from chainrule.doctor.stats import EpochStats
from chainrule.doctor.structured import NetStats

SHOWN_CHANNELS = 16  # at most this many dead channels are listed by index
EXPLAINED_BY_DEAD_FILTERS = ("vanishing_gradients", "learning_rate_too_low")


class NetRules:
    """The rules for conv, recurrent and residual layers; streaks and the stall test are the Rulebook's."""

    def __init__(self, config: DoctorConfig, rulebook: Rulebook) -> None:
        self.config, self.rulebook = config, rulebook

    def epoch(self, e: EpochStats, n: NetStats) -> list[Verdict]:
        stalled = self.rulebook.stalled(e)
        return self.dead_channels(e, n) + self.through_time(e, n, stalled) + self.gates(n, stalled)

    def unexplained(self, verdicts: list[Verdict], net_verdicts: list[Verdict]) -> list[Verdict]:
        """The Rulebook's verdicts less those that half-dead convolutions explain: as the Rulebook does for dead
        units, a missing gradient below dead filters (or a tiny update above them) is theirs."""
        if not any(v.evidence.get("variant") == "channels" and (v.evidence["dead_fraction"] or 0) >= 0.5
                   for v in net_verdicts):
            return verdicts
        return [v for v in verdicts if v.kind not in EXPLAINED_BY_DEAD_FILTERS]

    def dead_channels(self, e: EpochStats, n: NetStats) -> list[Verdict]:
        cfg, verdicts = self.config, []
        for name, fraction in n.dead_channel_fraction.items():
            # the test the Rulebook applies to a Linear's units, with filters as the units: not gated on the loss
            holds, _, chance = self.rulebook.too_many_dead(fraction, n.channels.get(name))
            run = self.rulebook.streak("dead_channels", name, holds)
            if run < cfg.epoch_persistence:
                continue
            dead = n.dead_channels.get(name, [])
            verdicts.append(Verdict("dead_relu", name, {
                "variant": "channels", "dead_fraction": num(fraction), "threshold": cfg.dead_fraction,
                "channels": n.channels.get(name), "dead_channels": len(dead),
                "dead_channel_ids": dead[:SHOWN_CHANNELS], "fed_by": n.conv_feeding.get(name), "in_a_row": run,
                "chance_at_healthy_rate": num(chance),
                "loss_improvement": num(e.improvement)}))
        return verdicts

    def through_time(self, e: EpochStats, n: NetStats, stalled: bool) -> list[Verdict]:
        cfg, verdicts = self.config, []
        not_improving = e.improvement < cfg.stall_improvement
        for key, ratio in n.time_ratio.items():
            finite = math.isfinite(ratio)
            exploding = self.rulebook.streak("exploding_time", key, finite and ratio > 1 / cfg.vanishing_ratio
                                             and not_improving)
            common = {"variant": "through_time", "ratio_first_to_last": num(ratio),
                      "steps": n.time_steps.get(key),
                      "per_step_rms": [num(v) for v in n.time_profile.get(key, [])], "recurrent_layer": key,
                      "loss_improvement": num(e.improvement)}
            layer = n.recurrent_module.get(key, key)
            if finite and ratio < cfg.vanishing_ratio and stalled:
                verdicts.append(Verdict("vanishing_gradients", layer, {**common, "threshold": cfg.vanishing_ratio}))
            elif exploding >= cfg.epoch_persistence:
                verdicts.append(Verdict("exploding_gradients", layer, {
                    **common, "threshold": 1 / cfg.vanishing_ratio, "in_a_row": exploding}))
        return verdicts

    def gates(self, n: NetStats, stalled: bool) -> list[Verdict]:
        cfg, verdicts = self.config, []
        for key, per_gate in n.gate_saturation.items():
            gate, fraction = max(per_gate.items(), key=lambda kv: kv[1] if math.isfinite(kv[1]) else -1.0)
            run = self.rulebook.streak("gate_saturation", key, math.isfinite(fraction)
                                       and fraction >= cfg.saturation_fraction)
            if stalled and run >= cfg.epoch_persistence:
                verdicts.append(Verdict("saturation", n.recurrent_module.get(key, key), {
                    "variant": "gates", "gate": gate, "saturated_fraction": num(fraction),
                    "threshold": cfg.saturation_fraction, "per_gate": {g: num(v) for g, v in per_gate.items()},
                    "output_band": [cfg.saturation_output, 1 - cfg.saturation_output], "recurrent_layer": key,
                    "in_a_row": run}))
        return verdicts
