"""``python -m proofs.cli`` runs the ``nnmath`` command line."""
import sys

from . import main

sys.exit(main())
