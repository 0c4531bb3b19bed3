"""The normal family N(mu, sigma) written in Python: shared by the tests
(test_python_models.py) and python/benches/validate_speed.py."""
import math

import numpy as np


class NormalNoScore:
    """N(mu, sigma), theta = (mu, sigma), with a vectorised log-likelihood and
    sampler and no score (the library differentiates it). ``column``: draws of
    shape (n, 1) instead of (n,)."""

    param_names = ["mu", "sigma"]
    obs_dim = 1

    def __init__(self, column=False):
        self.column = column

    def log_likelihood(self, theta, y):
        mu, s = theta
        return -0.5 * ((y[:, 0] - mu) / s) ** 2 - math.log(s) - 0.5 * math.log(2 * math.pi)

    def sample(self, theta, n, rng):
        return rng.normal(theta[0], theta[1], size=(n, 1) if self.column else n)


class Normal(NormalNoScore):
    """:class:`NormalNoScore` with its exact score (z/sigma, (z^2 - 1)/sigma)."""

    def score(self, theta, y):
        mu, s = theta
        z = (y[:, 0] - mu) / s
        return np.stack([z / s, (z * z - 1.0) / s], axis=1)
