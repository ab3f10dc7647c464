"""``python -m qml_core``: the command line (see ``qml_core.cli.main``)."""
import sys

from qml_core.cli.main import main

sys.exit(main())
