"""Training: `fit`, Keras-style callbacks, the progress bar, checkpoints and the MLP every command builds."""

from chainrule.training.callbacks import (
    Callback,
    CSVLogger,
    EarlyStopping,
    LambdaCallback,
    LearningRateScheduler,
    ModelCheckpoint,
    TerminateOnNaN,
)
from chainrule.training.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from chainrule.training.models import MLP, MLPSpec, build_mlp
from chainrule.training.progress import ProgressBar
from chainrule.training.tensorboard import TensorBoard
from chainrule.training.trainer import History, Trainer, evaluate, fit

__all__ = [
    "MLP", "CSVLogger", "Callback", "Checkpoint", "EarlyStopping", "History", "LambdaCallback", "LearningRateScheduler",
    "MLPSpec", "ModelCheckpoint", "ProgressBar", "TensorBoard", "TerminateOnNaN", "Trainer", "build_mlp", "evaluate",
    "fit", "load_checkpoint", "save_checkpoint",
]
