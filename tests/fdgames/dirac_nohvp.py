"""The Dirac-GAN's kernels (vanilla and non-saturating losses), ``hvp`` left out."""
from invariant.games.dirac import batch_grad, grad, loss, noise, sample_grads, sigma_cross, sigma_diag  # noqa: F401
