"""``python -m cloudapi``: the Cloud Ops API server (``sundial cloudapi`` runs this)."""

import sys

from cloudapi.server import main

sys.exit(main())
