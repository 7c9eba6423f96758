"""`python -m autograd_cv` runs the command line."""

import sys

from autograd_cv.cli import main

sys.exit(main())
