from __future__ import annotations

import math

import numpy as np
import pytest

from mixopt.errors import FitError
from mixopt.mixture import MixtureSpace
from mixopt.surrogates.base import Prediction
from mixopt.surrogates.diagnostics import loo
from mixopt.surrogates.scheffe import ScheffeSurrogate

SPACE = MixtureSpace(("a", "b"))
X = np.array([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0], [0.25, 0.75]])
Y = np.array([1.0, 2.0, 3.0, 6.0])


class TrainingMean:
    """Predicts the mean of its training scores, with a fixed std of 1.5."""

    name = "training-mean"

    def __init__(self) -> None:
        self.space = SPACE
        self.value: float | None = None

    @property
    def min_observations(self) -> int:
        return 1

    def fit(self, X: np.ndarray, y: np.ndarray) -> None:
        self.value = float(np.mean(y))

    def predict(self, X: np.ndarray) -> Prediction:
        if self.value is None:
            raise FitError("not fitted")
        return Prediction(mean=np.full(len(X), self.value), std=np.full(len(X), 1.5))

    def recommend(self):  # pragma: no cover - not used here
        raise NotImplementedError


class Constant(TrainingMean):
    def fit(self, X: np.ndarray, y: np.ndarray) -> None:
        self.value = 0.0


def test_hand_computed_loo_of_the_training_mean() -> None:
    # Leaving out 1, 2, 3, 6 in turn, the mean of the others is 11/3, 10/3, 3, 2.
    # Errors: 8/3, 4/3, 0, -4 -> MSE = (64/9 + 16/9 + 0 + 16) / 4 = 224/36.
    result = loo(TrainingMean, X, Y)
    np.testing.assert_allclose(result.mean, [11 / 3, 10 / 3, 3.0, 2.0])
    assert result.rmse == pytest.approx(math.sqrt(224 / 36))
    assert result.mean_baseline_rmse == pytest.approx(math.sqrt(224 / 36))
    assert not result.worse_than_mean
    # |error| <= 1.645 * 1.5 = 2.4675 holds for 4/3 and 0 only.
    assert result.coverage90 == pytest.approx(0.5)
    # LOO means 11/3, 10/3, 3, 2 are in reverse order of y: rank correlation -1.
    assert result.spearman == pytest.approx(-1.0)
    assert "WORSE" not in result.summary()


def test_constant_predictions_give_nan_spearman_and_say_so() -> None:
    result = loo(Constant, X, Y)
    assert math.isnan(result.spearman)
    assert result.rmse == pytest.approx(math.sqrt((1 + 4 + 9 + 36) / 4))
    assert result.worse_than_mean
    assert "n/a" in result.summary() and "WORSE than predicting the mean" in result.summary()


def test_closed_form_loo_predict_is_used() -> None:
    class WithClosedForm(TrainingMean):
        def loo_predict(self) -> Prediction:
            return Prediction(mean=Y + 1.0, std=np.ones(4))

    result = loo(WithClosedForm, X, Y)
    np.testing.assert_allclose(result.mean, Y + 1.0)
    assert result.rmse == pytest.approx(1.0)


def test_needs_three_points() -> None:
    with pytest.raises(FitError):
        loo(TrainingMean, X[:2], Y[:2])


def test_works_with_a_real_surrogate() -> None:
    result = loo(lambda: ScheffeSurrogate(SPACE), X, Y)
    assert result.mean.shape == (4,) and np.all(result.std > 0)
