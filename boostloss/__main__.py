"""``python -m boostloss`` runs the ``boostloss`` command (see ``boostloss.cli``)."""

import sys

from .cli import main

sys.exit(main())
