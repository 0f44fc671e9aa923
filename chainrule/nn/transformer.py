"""Attention and the Transformer with PyTorch's names, arguments, parameter layouts and masks.

``MultiheadAttention`` keeps torch's parameters (``in_proj_weight`` (3E, E) holding the query, key and value
projections, or ``q/k/v_proj_weight`` when key and value have other sizes; ``in_proj_bias``; ``out_proj``), so a
torch ``state_dict`` loads as is and outputs match. The encoder and decoder layers are torch's post-norm (or
``norm_first``) blocks; ``TransformerEncoder``/``Decoder`` stack deep copies of one layer, so every layer starts
with the same weights, as in PyTorch.

Masks read as PyTorch reads them: in ``MultiheadAttention`` and the Transformer layers a bool mask is True where
attention is *not* allowed (``key_padding_mask``: True at padding), a float mask is added to the scores. (In
``F.scaled_dot_product_attention`` a bool mask means the opposite, as in PyTorch.)

Built from the engine's differentiable ops: the graph shows each projection, the scores, the softmax and the
weighted sum, so backpropagation through attention can be watched step by step.
"""

from __future__ import annotations

import copy
import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from chainrule.engine import ops
from chainrule.engine.autograd import is_grad_enabled
from chainrule.engine.backend import DEFAULT_DTYPE
from chainrule.engine.tensor import Tensor
from chainrule.nn import functional as F  # noqa: N812 - PyTorch's convention
from chainrule.nn import init
from chainrule.nn._checks import flag, integer, positive_int, real
from chainrule.nn.activation import GELU, ReLU
from chainrule.nn.container import ModuleList
from chainrule.nn.dropout import Dropout
from chainrule.nn.linear import Linear
from chainrule.nn.module import Module, Parameter
from chainrule.nn.normalization import LayerNorm

Mask = Any  # a bool or float Tensor, or None


class AttentionArgumentError(AssertionError, ValueError):
    """An argument PyTorch's attention checks with an assertion (a size or mask that does not fit): an
    AssertionError as there, and a ValueError as chainrule's other argument errors."""


def _mask_bias(mask: Mask, name: str, other: Mask, other_name: str, dtype: np.dtype, where: str) -> np.ndarray | None:
    """A MultiheadAttention mask as the constant added to the scores (True: not allowed), with PyTorch's warning
    when it and ``other`` mix bool and float."""
    if mask is None:
        return None
    if isinstance(other, Tensor) and isinstance(mask, Tensor) and other._data.dtype != mask._data.dtype:
        warnings.warn(f"Support for mismatched {name} and {other_name} is deprecated. Use same type for both "
                      "instead.", UserWarning, stacklevel=4)
    if isinstance(mask, Tensor) and mask._data.dtype.kind not in "bf":
        raise AttentionArgumentError(f"{where}: only bool and floating types of {name} are supported, got "
                                     f"{mask._data.dtype}")
    return F.attention_bias(mask, where, name, dtype, allowed=False)


def _pad_column(bias: np.ndarray | None) -> np.ndarray | None:
    """A mask with one more key, which every query may attend (the bias_k or zero-attention key)."""
    return None if bias is None else np.concatenate([bias, np.zeros((*bias.shape[:-1], 1), bias.dtype)], -1)


class MultiheadAttention(Module):
    """Attention over ``num_heads`` heads of ``embed_dim // num_heads`` features each, as PyTorch's
    ``nn.MultiheadAttention``.

    ``forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False)`` returns ``(output, weights)``: output (L, N, E), or (N, L, E)
    with ``batch_first``, or (L, E) unbatched; weights (N, L, S) averaged over heads, (N, heads, L, S) without
    ``average_attn_weights``, None without ``need_weights``. ``attn_mask``: (L, S) or (N·heads, L, S);
    ``key_padding_mask``: (N, S). A query with every key masked gets NaN when the weights are returned and zeros
    otherwise, as in PyTorch.

    Args:
        embed_dim: E, the size of each query (and of the output).
        num_heads: heads; must divide ``embed_dim``.
        dropout: drop probability of the attention weights in training.
        bias: learn the projections' biases.
        add_bias_kv: learn one more key and value, appended to every sequence.
        add_zero_attn: append a key and value of zeros after the projections.
        kdim, vdim: the key's and value's sizes (default ``embed_dim``).
        batch_first: inputs are (N, L, E) rather than (L, N, E).
        dtype: parameter dtype (float32 by default).

    >>> import chainrule as cr
    >>> attention = MultiheadAttention(8, 2, batch_first=True)
    >>> out, weights = attention(cr.ones(3, 5, 8), cr.ones(3, 4, 8), cr.ones(3, 4, 8))
    >>> out.shape, weights.shape
    ((3, 5, 8), (3, 5, 4))
    """

    in_proj_weight: Parameter | None
    q_proj_weight: Parameter | None
    k_proj_weight: Parameter | None
    v_proj_weight: Parameter | None
    in_proj_bias: Parameter | None
    bias_k: Parameter | None
    bias_v: Parameter | None

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: int | None = None,
                 vdim: int | None = None, batch_first: bool = False, device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        where = "MultiheadAttention"
        self.embed_dim = positive_int(embed_dim, "embed_dim", where)
        self.num_heads = positive_int(num_heads, "num_heads", where)
        self.kdim = positive_int(kdim, "kdim", where) if kdim is not None else self.embed_dim
        self.vdim = positive_int(vdim, "vdim", where) if vdim is not None else self.embed_dim
        self._qkv_same_embed_dim = self.kdim == self.embed_dim and self.vdim == self.embed_dim
        self.dropout = real(dropout, "dropout", where, low=0.0, high=1.0)
        self.batch_first = flag(batch_first, "batch_first", where)
        self.add_zero_attn = flag(add_zero_attn, "add_zero_attn", where)
        self.head_dim = self.embed_dim // self.num_heads
        if self.head_dim * self.num_heads != self.embed_dim:
            raise AttentionArgumentError(f"{where}: embed_dim ({self.embed_dim}) must be divisible by num_heads "
                             f"({self.num_heads})")
        dtype = np.dtype(dtype or DEFAULT_DTYPE)
        e = self.embed_dim
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(np.empty((3 * e, e), dtype))
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = Parameter(np.empty((e, e), dtype))
            self.k_proj_weight = Parameter(np.empty((e, self.kdim), dtype))
            self.v_proj_weight = Parameter(np.empty((e, self.vdim), dtype))
            self.register_parameter("in_proj_weight", None)
        if flag(bias, "bias", where):
            self.in_proj_bias = Parameter(np.empty(3 * e, dtype))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(e, e, bias=bias, dtype=dtype)
        if flag(add_bias_kv, "add_bias_kv", where):
            self.bias_k = Parameter(np.empty((1, 1, e), dtype))
            self.bias_v = Parameter(np.empty((1, 1, e), dtype))
        else:
            self.bias_k = self.bias_v = None
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        """PyTorch's: Xavier-uniform projections, zero biases (the output projection's weight keeps Linear's)."""
        for weight in (self.in_proj_weight, self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
            if weight is not None:
                init.xavier_uniform_(weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        for extra in (self.bias_k, self.bias_v):
            if extra is not None:
                init.xavier_normal_(extra)

    def _projections(self, query: Tensor, key: Tensor, value: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        e, packed, b = self.embed_dim, self.in_proj_weight, self.in_proj_bias
        weights: list[Any] = ([packed[i * e:(i + 1) * e] for i in range(3)] if packed is not None
                              else [self.q_proj_weight, self.k_proj_weight, self.v_proj_weight])
        biases: list[Any] = [None] * 3 if b is None else [b[i * e:(i + 1) * e] for i in range(3)]
        q, k, v = (F.linear(x, w, bias) for x, w, bias in zip((query, key, value), weights, biases, strict=True))
        return q, k, v

    def _check_shapes(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask: Mask,
                      attn_mask: Mask) -> bool:
        """PyTorch's shape checks (its AssertionErrors, with the layer named); True for batched input."""
        where = "MultiheadAttention"
        for name, t in (("query", query), ("key", key), ("value", value)):
            if not isinstance(t, Tensor):
                raise TypeError(f"{where}: {name} must be a Tensor, got {type(t).__name__}")
        if query.ndim not in (2, 3):
            raise AttentionArgumentError(f"{where}: query should be unbatched 2D or batched 3D tensor but received "
                                 f"{query.ndim}-D query tensor")
        batched = query.ndim == 3
        if key.ndim != query.ndim or value.ndim != query.ndim:
            raise AttentionArgumentError(f"{where}: for {query.ndim}-D query, expected key and value to be "
                                         f"{query.ndim}-D but found {key.ndim}-D and {value.ndim}-D tensors "
                                         "respectively")
        if key_padding_mask is not None and getattr(key_padding_mask, "ndim", None) != query.ndim - 1:
            raise AttentionArgumentError(f"{where}: for {query.ndim}-D query, expected key_padding_mask to be None or "
                                 f"{query.ndim - 1}-D, got {getattr(key_padding_mask, 'ndim', type(key_padding_mask))}")
        if attn_mask is not None and getattr(attn_mask, "ndim", None) not in (2, 3):
            raise AttentionArgumentError(f"{where}: expected attn_mask to be None, 2-D or 3-D, got "
                                 f"{getattr(attn_mask, 'ndim', type(attn_mask))}")
        if query.shape[-1] != self.embed_dim:
            raise AttentionArgumentError(f"{where}: was expecting embedding dimension of {self.embed_dim}, but got "
                                 f"{query.shape[-1]}")
        if key.shape[-1] != self.kdim or value.shape[-1] != self.vdim:
            raise AttentionArgumentError(f"{where}: expected key and value of {self.kdim} and {self.vdim} "
                                         f"features, got {key.shape[-1]} and {value.shape[-1]}")
        if key.shape[:-1] != value.shape[:-1]:
            raise AttentionArgumentError(f"{where}: key's sequence and batch dims {tuple(key.shape[:-1])} do not match "
                                 f"value's {tuple(value.shape[:-1])}")
        return batched

    def forward(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask: Mask = None,
                need_weights: bool = True, attn_mask: Mask = None, average_attn_weights: bool = True,
                is_causal: bool = False) -> tuple[Tensor, Tensor | None]:
        where = "MultiheadAttention"
        batched = self._check_shapes(query, key, value, key_padding_mask, attn_mask)
        dtype = query._data.dtype
        padding = _mask_bias(key_padding_mask, "key_padding_mask", attn_mask, "attn_mask", dtype, where)
        if is_causal and attn_mask is None:
            raise RuntimeError(f"{where}: Need attn_mask if specifying the is_causal hint. You may use the "
                               "Transformer module method `generate_square_subsequent_mask` to create this mask.")
        causal_only = is_causal and padding is None and not need_weights  # PyTorch then ignores attn_mask
        allowed = None if causal_only else _mask_bias(attn_mask, "attn_mask", None, "", dtype, where)
        if not batched:  # (L, E): one sequence
            query, key, value = query.unsqueeze(0), key.unsqueeze(0), value.unsqueeze(0)
            padding = None if padding is None else padding[None]
        elif not self.batch_first:  # (L, N, E) to (N, L, E)
            query, key, value = query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)
        n, length, e = query.shape
        heads, d = self.num_heads, self.head_dim
        q, k, v = self._projections(query, key, value)
        if self.bias_k is not None and self.bias_v is not None:
            k = ops.cat([k, self.bias_k.expand(n, 1, e)], 1)
            v = ops.cat([v, self.bias_v.expand(n, 1, e)], 1)
            allowed, padding = _pad_column(allowed), _pad_column(padding)
        q, k, v = (t.reshape(n, t.shape[1], heads, d).transpose(1, 2) for t in (q, k, v))  # (N, heads, ·, d)
        if self.add_zero_attn:
            zeros = Tensor._make(np.zeros((n, heads, 1, d), dtype))
            k, v = ops.cat([k, zeros], 2), ops.cat([v, zeros], 2)
            allowed, padding = _pad_column(allowed), _pad_column(padding)
        source = k.shape[2]
        bias = self._bias(allowed, padding, n, length, source)
        p = self.dropout if self.training else 0.0
        if need_weights:
            scores = (q * math.sqrt(1.0 / d)) @ k.transpose(-2, -1)
            weights = ops.softmax(scores if bias is None else scores + bias, -1)
            if p > 0:
                weights = F.dropout(weights, p)
            out = weights @ v
        else:
            out = F.scaled_dot_product_attention(q, k, v, None if bias is None else Tensor._make(bias), p,
                                                 is_causal=causal_only)
        out = self.out_proj(out.transpose(1, 2).reshape(n, length, e))
        if not batched:
            out = out[0]
        elif not self.batch_first:
            out = out.transpose(0, 1)
        if not need_weights:
            return out, None
        averaged = weights.mean(dim=1) if average_attn_weights else weights
        return out, averaged if batched else averaged[0]

    def _bias(self, allowed: np.ndarray | None, padding: np.ndarray | None, n: int, length: int,
              source: int) -> np.ndarray | None:
        """The attention mask and the key padding mask as one bias of shape (N or 1, heads or 1, L or 1, S)."""
        where = "MultiheadAttention"
        if allowed is not None:
            if allowed.ndim == 2:
                if allowed.shape != (length, source):
                    raise RuntimeError(f"{where}: The shape of the 2D attn_mask is {allowed.shape}, but should be "
                                       f"{(length, source)}.")
                allowed = allowed[None, None]
            else:
                if allowed.shape != (n * self.num_heads, length, source):
                    raise RuntimeError(f"{where}: The shape of the 3D attn_mask is {allowed.shape}, but should be "
                                       f"{(n * self.num_heads, length, source)}.")
                allowed = allowed.reshape(n, self.num_heads, length, source)
        if padding is not None:
            if padding.shape != (n, source):
                raise AttentionArgumentError(f"{where}: expected key_padding_mask of shape {(n, source)} (batch, "
                                             f"source length), got {padding.shape}")
            padding = padding[:, None, None, :]
            return padding if allowed is None else allowed + padding
        return allowed


def _activation(activation: str | Callable[[Tensor], Tensor], where: str) -> Callable[[Tensor], Tensor]:
    if isinstance(activation, str):
        if activation == "relu":
            return F.relu
        if activation == "gelu":
            return F.gelu
        raise RuntimeError(f"{where}: activation should be relu/gelu, not {activation}")
    if not callable(activation):
        raise TypeError(f"{where}: activation must be 'relu', 'gelu' or a callable, got {activation!r}")
    return activation


class _TransformerLayer(Module):
    """What encoder and decoder layers share: self-attention, the feed-forward block, a norm and a dropout per
    block (2 in an encoder layer, 3 in a decoder layer), registered in PyTorch's order (its state_dict's)."""

    self_attn: MultiheadAttention
    linear1: Linear
    dropout: Dropout
    linear2: Linear
    norm_first: bool
    norm1: LayerNorm
    norm2: LayerNorm
    norm3: LayerNorm
    dropout1: Dropout
    dropout2: Dropout
    dropout3: Dropout
    activation: Callable[[Tensor], Tensor]

    def _feed_forward_and_norms(self, blocks: int, d_model: int, dim_feedforward: int, dropout: float,
                                activation: str | Callable[[Tensor], Tensor], eps: float, norm_first: bool,
                                bias: bool, dtype: Any, where: str) -> None:
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm_first = flag(norm_first, "norm_first", where)
        for i in range(1, blocks + 1):
            setattr(self, f"norm{i}", LayerNorm(d_model, eps=eps, bias=bias, dtype=dtype))
        for i in range(1, blocks + 1):
            setattr(self, f"dropout{i}", Dropout(dropout))
        self.activation = _activation(activation, where)
        self.last_dropout = f"dropout{blocks}"

    def _sa_block(self, x: Tensor, mask: Mask, padding: Mask, is_causal: bool) -> Tensor:
        out = self.self_attn(x, x, x, attn_mask=mask, key_padding_mask=padding, need_weights=False,
                             is_causal=is_causal)[0]
        return self.dropout1(out)

    def _ff_block(self, x: Tensor) -> Tensor:
        out = self.linear2(self.dropout(self.activation(self.linear1(x))))
        return getattr(self, self.last_dropout)(out)


class TransformerEncoderLayer(_TransformerLayer):
    """Self-attention then a feed-forward block, each with dropout, a residual connection and LayerNorm, as
    ``torch.nn.TransformerEncoderLayer``: post-norm by default, pre-norm with ``norm_first``.

    ``forward(src, src_mask=None, src_key_padding_mask=None, is_causal=False)``.

    >>> import chainrule as cr
    >>> TransformerEncoderLayer(8, 2, 16, batch_first=True)(cr.ones(3, 5, 8)).shape
    (3, 5, 8)
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: str | Callable[[Tensor], Tensor] = F.relu, layer_norm_eps: float = 1e-5,
                 batch_first: bool = False, norm_first: bool = False, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        where = "TransformerEncoderLayer"
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first,
                                            dtype=dtype)
        self._feed_forward_and_norms(2, d_model, dim_feedforward, dropout, activation, layer_norm_eps, norm_first,
                                     bias, dtype, where)
        function = self.activation
        self.activation_relu_or_gelu = (1 if function is F.relu or isinstance(function, ReLU)
                                        else 2 if function is F.gelu or isinstance(function, GELU) else 0)

    def forward(self, src: Tensor, src_mask: Mask = None, src_key_padding_mask: Mask = None,
                is_causal: bool = False) -> Tensor:
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._ff_block(self.norm2(x))
        x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._ff_block(x))



class TransformerDecoderLayer(_TransformerLayer):
    """Self-attention, attention over the encoder's output (``memory``), then a feed-forward block, each with
    dropout, a residual connection and LayerNorm, as ``torch.nn.TransformerDecoderLayer``.

    ``forward(tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
    memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False)``.
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: str | Callable[[Tensor], Tensor] = F.relu, layer_norm_eps: float = 1e-5,
                 batch_first: bool = False, norm_first: bool = False, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        where = "TransformerDecoderLayer"
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, batch_first=batch_first, bias=bias,
                                            dtype=dtype)
        self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout, batch_first=batch_first,
                                                 bias=bias, dtype=dtype)
        self._feed_forward_and_norms(3, d_model, dim_feedforward, dropout, activation, layer_norm_eps, norm_first,
                                     bias, dtype, where)

    def forward(self, tgt: Tensor, memory: Tensor, tgt_mask: Mask = None, memory_mask: Mask = None,
                tgt_key_padding_mask: Mask = None, memory_key_padding_mask: Mask = None,
                tgt_is_causal: bool = False, memory_is_causal: bool = False) -> Tensor:
        x = tgt
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(self.norm2(x), memory, memory_mask, memory_key_padding_mask, memory_is_causal)
            return x + self._ff_block(self.norm3(x))
        x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
        x = self.norm2(x + self._mha_block(x, memory, memory_mask, memory_key_padding_mask, memory_is_causal))
        return self.norm3(x + self._ff_block(x))


    def _mha_block(self, x: Tensor, memory: Tensor, mask: Mask, padding: Mask, is_causal: bool) -> Tensor:
        out = self.multihead_attn(x, memory, memory, attn_mask=mask, key_padding_mask=padding,
                                  is_causal=is_causal, need_weights=False)[0]
        return self.dropout2(out)



def _clones(layer: Module, num_layers: int, where: str) -> ModuleList:
    """``num_layers`` deep copies of ``layer``: every layer starts with the same weights, as in PyTorch."""
    if not isinstance(layer, Module):
        raise TypeError(f"{where}: the layer to stack must be a Module, got {type(layer).__name__}")
    return ModuleList([copy.deepcopy(layer) for _ in range(positive_int(num_layers, "num_layers", where))])


def _sequence_length(src: Tensor, batch_first: bool) -> int:
    return src.shape[0] if src.ndim == 2 else src.shape[1 if batch_first else 0]


def _is_causal(mask: Mask, is_causal: bool | None, size: int) -> bool:
    """PyTorch's reading of the ``is_causal`` hint: when None, whether ``mask`` is the square causal mask."""
    if is_causal is not None or mask is None:
        return is_causal is True
    causal = generate_square_subsequent_mask(size, dtype=mask.dtype)
    return tuple(mask.shape) == tuple(causal.shape) and bool((mask._data == causal._data).all())


class TransformerEncoder(Module):
    """``num_layers`` copies of an encoder layer in turn, then ``norm`` if given, as ``torch.nn.TransformerEncoder``.

    ``forward(src, mask=None, src_key_padding_mask=None, is_causal=None)``. As PyTorch's (which then runs on
    nested tensors), in evaluation without gradients a batch-first encoder returns zeros at padded positions
    (before ``norm``).
    """

    def __init__(self, encoder_layer: Module, num_layers: int, norm: Module | None = None,
                 enable_nested_tensor: bool = True, mask_check: bool = True) -> None:
        super().__init__()
        where = "TransformerEncoder"
        self.layers = _clones(encoder_layer, num_layers, where)
        self.num_layers = len(self.layers)
        self.norm = norm
        self.enable_nested_tensor = self.use_nested_tensor = flag(enable_nested_tensor, "enable_nested_tensor",
                                                                  where)
        self.mask_check = flag(mask_check, "mask_check", where)
        why_not = self._why_no_nested_tensor(encoder_layer)
        if enable_nested_tensor and why_not:
            warnings.warn(f"enable_nested_tensor is True, but self.use_nested_tensor is False because {why_not}",
                          UserWarning, stacklevel=2)
            self.use_nested_tensor = False

    @staticmethod
    def _why_no_nested_tensor(layer: Module) -> str:
        """PyTorch's reasons for not running the encoder on nested tensors (its warning's words)."""
        if not isinstance(layer, TransformerEncoderLayer):
            return "encoder_layer was not TransformerEncoderLayer"
        attention = layer.self_attn
        reasons = [
            (layer.norm_first, "encoder_layer.norm_first was True"),
            (not attention.batch_first, "encoder_layer.self_attn.batch_first was not True(use batch_first for "
                                        "better inference performance)"),
            (not attention._qkv_same_embed_dim, "encoder_layer.self_attn._qkv_same_embed_dim was not True"),
            (attention.in_proj_bias is None, "encoder_layer.self_attn was passed bias=False"),
            (not layer.activation_relu_or_gelu, "encoder_layer.activation_relu_or_gelu was not True"),
            (layer.norm1.eps != layer.norm2.eps, "encoder_layer.norm1.eps was not equal to encoder_layer.norm2.eps"),
            (attention.num_heads % 2 == 1, "encoder_layer.self_attn.num_heads is odd"),
        ]
        return next((why for failed, why in reasons if failed), "")

    def forward(self, src: Tensor, mask: Mask = None, src_key_padding_mask: Mask = None,
                is_causal: bool | None = None) -> Tensor:
        first = self.layers[0]
        batch_first = first.self_attn.batch_first if isinstance(first, TransformerEncoderLayer) else False
        is_causal = _is_causal(mask, is_causal, _sequence_length(src, batch_first))
        padded = self._zeroed_padding(src, mask, src_key_padding_mask)
        output = src
        for layer in self.layers:
            output = layer(output, src_mask=mask, is_causal=is_causal, src_key_padding_mask=src_key_padding_mask)
        if padded is not None:
            output = output.masked_fill(padded, 0.0)
        return self.norm(output) if self.norm is not None else output

    def _zeroed_padding(self, src: Tensor, mask: Mask, padding: Mask) -> np.ndarray | None:
        """Where PyTorch's nested-tensor path leaves zeros: the padded positions (N, S, 1) when it would take that
        path (evaluation, batch-first, a bool padding mask at the ends of the rows, no attention mask, no gradient
        needed); else None."""
        first = self.layers[0]
        if (not self.use_nested_tensor or first.training or src.ndim != 3 or mask is not None
                or not isinstance(padding, Tensor)):
            return None
        if is_grad_enabled() and (src.requires_grad or any(p.requires_grad for p in first.parameters())):
            return None
        padded = padding._data != 0  # a float mask's 0 keeps a position, as torch's logical_not reads it
        if self.mask_check and (np.diff(padded.astype(np.int8), axis=1) < 0).any():  # padding before a token
            return None
        return padded[:, :, None]


class TransformerDecoder(Module):
    """``num_layers`` copies of a decoder layer in turn, then ``norm`` if given, as ``torch.nn.TransformerDecoder``.

    ``forward(tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
    memory_key_padding_mask=None, tgt_is_causal=None, memory_is_causal=False)``.
    """

    def __init__(self, decoder_layer: Module, num_layers: int, norm: Module | None = None) -> None:
        super().__init__()
        self.layers = _clones(decoder_layer, num_layers, "TransformerDecoder")
        self.num_layers = len(self.layers)
        self.norm = norm

    def forward(self, tgt: Tensor, memory: Tensor, tgt_mask: Mask = None, memory_mask: Mask = None,
                tgt_key_padding_mask: Mask = None, memory_key_padding_mask: Mask = None,
                tgt_is_causal: bool | None = None, memory_is_causal: bool = False) -> Tensor:
        first = self.layers[0]
        batch_first = first.self_attn.batch_first if isinstance(first, TransformerDecoderLayer) else False
        tgt_is_causal = _is_causal(tgt_mask, tgt_is_causal, _sequence_length(tgt, batch_first))
        output = tgt
        for layer in self.layers:
            output = layer(output, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                           tgt_key_padding_mask=tgt_key_padding_mask,
                           memory_key_padding_mask=memory_key_padding_mask, tgt_is_causal=tgt_is_causal,
                           memory_is_causal=memory_is_causal)
        return self.norm(output) if self.norm is not None else output


def generate_square_subsequent_mask(sz: int, device: Any = None, dtype: Any = None) -> Tensor:
    """The (sz, sz) causal mask: 0 on and below the diagonal, -inf above (each position sees itself and earlier)."""
    size = integer(sz, "sz", "generate_square_subsequent_mask")
    if size < 0:
        raise ValueError(f"generate_square_subsequent_mask: sz must be at least 0, got {sz}")
    dtype = np.dtype(dtype or DEFAULT_DTYPE)
    return Tensor._make(np.triu(np.full((size, size), -np.inf, dtype), 1))


class Transformer(Module):
    """An encoder and a decoder, each a stack of layers with a final LayerNorm, as ``torch.nn.Transformer``
    ("Attention Is All You Need"); every weight matrix starts Xavier-uniform, as PyTorch's.

    ``forward(src, tgt, src_mask=None, tgt_mask=None, memory_mask=None, src_key_padding_mask=None,
    tgt_key_padding_mask=None, memory_key_padding_mask=None, src_is_causal=None, tgt_is_causal=None,
    memory_is_causal=False)``.
    """

    def __init__(self, d_model: int = 512, nhead: int = 8, num_encoder_layers: int = 6,
                 num_decoder_layers: int = 6, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: str | Callable[[Tensor], Tensor] = F.relu, custom_encoder: Module | None = None,
                 custom_decoder: Module | None = None, layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        layer_args = (d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps, batch_first,
                      norm_first, bias)
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            self.encoder = TransformerEncoder(TransformerEncoderLayer(*layer_args, dtype=dtype), num_encoder_layers,
                                              LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype))
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            self.decoder = TransformerDecoder(TransformerDecoderLayer(*layer_args, dtype=dtype), num_decoder_layers,
                                              LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype))
        for parameter in self.parameters():
            if parameter.ndim > 1:
                init.xavier_uniform_(parameter)
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first

    generate_square_subsequent_mask = staticmethod(generate_square_subsequent_mask)

    def forward(self, src: Tensor, tgt: Tensor, src_mask: Mask = None, tgt_mask: Mask = None,
                memory_mask: Mask = None, src_key_padding_mask: Mask = None, tgt_key_padding_mask: Mask = None,
                memory_key_padding_mask: Mask = None, src_is_causal: bool | None = None,
                tgt_is_causal: bool | None = None, memory_is_causal: bool = False) -> Tensor:
        batch_axis = 0 if self.batch_first else 1
        if src.ndim == 3 and src.shape[batch_axis] != tgt.shape[batch_axis]:
            raise RuntimeError("Transformer: the batch number of src and tgt must be equal")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise RuntimeError("Transformer: the feature number of src and tgt must be equal to d_model")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask,
                              is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask, tgt_is_causal=tgt_is_causal,
                            memory_is_causal=memory_is_causal)
