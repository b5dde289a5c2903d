"""Weight averaging along the fine-tuning trajectory (numpy only, so it is testable without TensorFlow)."""

from __future__ import annotations

import numpy as np


class WeightAverager:
    """Running mean of the model weights of fine-tune epochs `start`..last (0 = off).

    The Kaggle hold-out swings by several points from one epoch to the next while pbc-wbc4/val
    barely moves; the mean of the weights along the trajectory (stochastic weight averaging) smooths
    that out. BatchNorm is frozen during fine-tuning, so the averaged weights need no re-estimated
    BatchNorm statistics.
    """

    def __init__(self, start: int):
        self.start = start
        self.first: int | None = None
        self.last: int | None = None
        self.count = 0
        self.sums: list[np.ndarray] = []

    def add(self, epoch: int, weights: list[np.ndarray]) -> None:
        if self.start <= 0 or epoch < self.start:
            return
        if not self.sums:
            self.sums = [np.asarray(w, np.float64).copy() for w in weights]
            self.first = epoch
        else:
            for s, w in zip(self.sums, weights):
                s += w
        self.last = epoch
        self.count += 1

    def mean(self) -> list[np.ndarray]:
        return [(s / self.count).astype(np.float32) for s in self.sums]

    def label(self) -> str:
        return f"mean of {self.first}-{self.last}"


def keep_average(avg_acc: float, best_epoch_acc: float, n_val: int, tolerance_images: int) -> bool:
    """The weight average wins unless the best single epoch beats it by more than `tolerance_images`."""
    return round((best_epoch_acc - avg_acc) * n_val) <= tolerance_images
