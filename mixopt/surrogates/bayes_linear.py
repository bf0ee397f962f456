"""A BoTorch `Model` for a Bayesian linear model on polynomial features of the mixture.

Used to run BoTorch acquisition functions (qLogNoisyExpectedImprovement) on the `linear` and
`scheffe` surrogates. The posterior is exact: a linear map of the Gaussian coefficient
posterior, so it is a joint `MultivariateNormal` over the `q` points of each batch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from botorch.acquisition.objective import PosteriorTransform
from botorch.models.model import Model
from botorch.posteriors.gpytorch import GPyTorchPosterior
from gpytorch.distributions import MultivariateNormal
from torch import Tensor

from mixopt.surrogates.monomials import Monomials


class BayesianLinearModel(Model):
    """``f(x) = offset + scale * phi(x)^T beta`` with ``beta ~ N(coef_mean, coef_cov)``.

    Args:
        monomials: the feature map `phi` (see `mixopt.surrogates.monomials`), `p` terms.
        coef_mean: `p` posterior mean of `beta` (standardized units).
        coef_cov: `p x p` posterior covariance of `beta`.
        noise_var: observation-noise variance in standardized units.
        offset, scale: map standardized values back to the units of `y` (higher is better).
        jitter: added to the covariance diagonal, relative to ``scale**2``, so that the
            Cholesky factor exists when ``q`` exceeds the rank ``p``.
    """

    _num_outputs = 1

    def __init__(
        self,
        *,
        monomials: Monomials,
        coef_mean: np.ndarray,
        coef_cov: np.ndarray,
        noise_var: float,
        offset: float,
        scale: float,
        jitter: float = 1e-8,
    ) -> None:
        super().__init__()
        self.monomials = tuple(tuple(m) for m in monomials)
        self.register_buffer("coef_mean", torch.as_tensor(coef_mean, dtype=torch.float64))
        self.register_buffer("coef_cov", torch.as_tensor(coef_cov, dtype=torch.float64))
        self.noise_var = float(noise_var)
        self.offset = float(offset)
        self.scale = float(scale)
        self.jitter = float(jitter)

    @property
    def num_outputs(self) -> int:
        return 1

    @property
    def batch_shape(self) -> torch.Size:
        return torch.Size([])

    def features(self, X: Tensor) -> Tensor:
        """`batch x q x p` features of `X: batch x q x d`."""
        columns = [X[..., list(m)].prod(dim=-1) for m in self.monomials]
        return torch.stack(columns, dim=-1)

    def posterior(
        self,
        X: Tensor,
        output_indices: list[int] | None = None,
        observation_noise: bool | Tensor = False,
        posterior_transform: PosteriorTransform | None = None,
        **kwargs: Any,
    ) -> GPyTorchPosterior:
        """Joint posterior over the points of `X: batch x q x d` (or `q x d`).

        With ``observation_noise=True`` the inferred noise is added to the diagonal; a tensor
        (`batch x q x 1`, units of `y` squared) is added as given.
        """
        if output_indices is not None and list(output_indices) != [0]:
            raise ValueError(f"BayesianLinearModel has one output, got indices {output_indices}")
        Phi = self.features(X)
        mu = self.coef_mean.to(X)
        Sigma = self.coef_cov.to(X)
        mean = self.offset + self.scale * (Phi @ mu)
        cov = self.scale**2 * (Phi @ Sigma @ Phi.transpose(-1, -2))
        eye = torch.eye(X.shape[-2], dtype=X.dtype, device=X.device)
        cov = cov + self.jitter * self.scale**2 * eye
        if isinstance(observation_noise, Tensor):
            cov = cov + torch.diag_embed(observation_noise.squeeze(-1).expand_as(mean))
        elif observation_noise:
            cov = cov + self.noise_var * self.scale**2 * eye
        posterior = GPyTorchPosterior(MultivariateNormal(mean, cov))
        if posterior_transform is not None:
            return posterior_transform(posterior)
        return posterior
