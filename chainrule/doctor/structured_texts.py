"""The words of the findings on convolutional and recurrent layers: one ``KindText`` per (kind, variant).

Registered into texts.VARIANTS (and their remedies into texts.REMEDIES) on import; texts.finding picks them
by the verdict's ``evidence["variant"]``. As in texts.py, every sentence is built from the evidence beside it.
"""

from __future__ import annotations

from typing import Any

from chainrule.doctor import texts
from chainrule.doctor.findings import Remedy
from chainrule.doctor.texts import Context, KindText


def batch_norm_2d(ctx: Context, ev: dict[str, Any]) -> Remedy:
    return Remedy("add BatchNorm2d after each convolution, which keeps every channel's pre-activations centred "
                  "around zero", {})


def gated_recurrence(ctx: Context, ev: dict[str, Any]) -> Remedy:
    return Remedy("use an LSTM or GRU: their gates add the old state to the new one instead of multiplying it "
                  "by W_hh at every step, so the gradient can cross many steps (initialize the forget gate's or "
                  "update gate's bias to 1-3 so the state is carried from the start)", {})


def shorter_sequences(ctx: Context, ev: dict[str, Any]) -> Remedy:
    return Remedy("shorten the gap the network must bridge (truncate or chunk the sequences), or feed the "
                  "needed information closer to where it is used", {})


VARIANT_TEXTS = {
    ("dead_relu", "channels"): KindText(
        "warning",
        "{dead_channels} of {channels} channels ({dead_fraction:.0%}) of {layer} never fired at any position of "
        "any training sample in {period}: dead filters {dead_channel_ids} of {fed_by} (threshold {threshold:.0%}; "
        "{in_a_row} {unit}s in a row); {loss_change} over the last {unit}",
        "After a convolution, a ReLU's unit is a channel: one filter slid over every position. When a filter's "
        "weighted sum is below zero at every position of every input, its channel outputs 0 everywhere and passes "
        "back a gradient of exactly 0, so nothing can pull the filter's weights back: the filter is dead. Here "
        "{dead_channels} of {layer}'s {channels} channels are, and the layer has lost that much of its capacity. "
        "Large steps (a high learning rate) or a negative bias are the usual ways filters get knocked below zero.",
        (("lower_lr", " so updates stop knocking filters below zero"), ("batch_norm_2d",), ("leaky_relu",))),
    ("vanishing_gradients", "through_time"): KindText(
        "warning",
        "through time: the gradient reaching the first step of {recurrent_layer} is {ratio_first_to_last:.1e} × "
        "the gradient at its last step, over a sequence of {steps} steps (threshold {threshold:g}); {loss_change} "
        "over the last {unit}",
        "A recurrent layer applies the same weights at every step, so backpropagation through time multiplies "
        "the gradient by the same Jacobian (W_hh times the activation's slope) once per step. When that factor is "
        "below 1 the product shrinks geometrically with the distance: the first step of {recurrent_layer} gets "
        "{ratio_first_to_last:.0e} of the gradient its last step gets, so whatever the output needs from early "
        "inputs cannot be learned (Bengio, Simard & Frasconi 1994).",
        (("gated_recurrence",), ("shorter_sequences",))),
    ("exploding_gradients", "through_time"): KindText(
        "error",
        "through time: the gradient reaching the first step of {recurrent_layer} is {ratio_first_to_last:.1e} × "
        "the gradient at its last step (threshold {threshold:g}; {in_a_row} {unit}s in a row); {loss_change} over "
        "the last {unit}",
        "Backpropagation through time multiplies the gradient by the same Jacobian once per step. When that "
        "factor is above 1 the product grows geometrically with the distance, so early steps get gradients "
        "{ratio_first_to_last:.0e} times the late ones and the steps overshoot (Pascanu, Mikolov & Bengio 2013).",
        (("clip",), ("lower_lr", ""), ("gated_recurrence",))),
    ("saturation", "gates"): KindText(
        "warning",
        "{saturated_fraction:.0%} of the {gate} gate's activations in {recurrent_layer} sit at the flat ends "
        "(threshold {threshold:.0%}; {in_a_row} {unit}s in a row) while training stalls",
        "Each gate of an LSTM or GRU is a sigmoid (the candidate a tanh). Pinned near 0 or 1, its slope is almost "
        "0, so the gate no longer learns when to open: here {saturated_fraction:.0%} of the {gate} gate's "
        "activations in {recurrent_layer} are outside the band where it passes gradient. Large weights or "
        "unscaled inputs push gates there.",
        (("lower_lr", ""), ("clip",))),
}

texts.VARIANTS.update(VARIANT_TEXTS)
texts.REMEDIES.update({f.__name__: f for f in (batch_norm_2d, gated_recurrence, shorter_sequences)})
