"""`python -m selu_lab …`: the headless CLI."""

import sys

from selu_lab.cli import main

sys.exit(main())
