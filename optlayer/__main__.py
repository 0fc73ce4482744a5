"""`python -m optlayer` runs the command line."""

import sys

from optlayer.cli import main

sys.exit(main())
