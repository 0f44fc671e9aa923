"""Layers, losses and initializers with PyTorch's names. Knows nothing of the doctor."""

from chainrule.nn import functional, init, utils
from chainrule.nn.activation import GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from chainrule.nn.container import ModuleList, Sequential
from chainrule.nn.dropout import Dropout
from chainrule.nn.flatten import Flatten
from chainrule.nn.linear import Identity, Linear
from chainrule.nn.loss import BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss
from chainrule.nn.module import Module, Parameter
from chainrule.nn.normalization import BatchNorm1d, LayerNorm

__all__ = [
    "BCEWithLogitsLoss", "BatchNorm1d", "CrossEntropyLoss", "Dropout", "Flatten", "GELU", "Identity", "L1Loss",
    "LayerNorm", "LeakyReLU", "Linear", "LogSoftmax", "MSELoss", "Module", "ModuleList", "Parameter", "ReLU",
    "Sequential", "Sigmoid", "Softmax", "Tanh", "functional", "init", "utils",
]
