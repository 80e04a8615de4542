"""``python -m invariant``: the same command line as the ``invariant`` console script."""
import sys

from .cli import main

sys.exit(main())
