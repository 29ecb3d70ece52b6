"""``python -m campaignlab``: the same as the ``campaignlab`` console script."""

import sys

from .cli import main

sys.exit(main())
