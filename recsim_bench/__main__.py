"""``python -m recsim_bench``: the ``recsim-bench`` command."""

import sys

from recsim_bench.cli import main

sys.exit(main())
