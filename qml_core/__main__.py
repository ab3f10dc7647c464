"""``python -m qml_core``: the command line (see ``qml_core.cli``)."""
import sys

from .cli import main

sys.exit(main())
