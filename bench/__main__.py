"""`python -m bench` (what `make bench` runs): the live-room benchmark with its defaults."""

import sys

from bench.room_bench import main

sys.exit(main())
