"""The bilinear game's kernels, ``hvp`` left out."""
from invariant.games.bilinear import batch_grad, grad, loss, loss_with_grad, noise, sample_grads  # noqa: F401
