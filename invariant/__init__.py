"""invariant: long-run analysis of GAN training as stochastic differential equations.

Data flows one way: game → scheme → engine → run result → analyses → report
(see docs/design.md).  The mathematics is specified in docs/theory.md; docstrings cite its sections.
"""
__version__ = "0.1.0"
