#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cloud.settings")
    from cloud.cli import run_django_command

    sys.exit(run_django_command(sys.argv))


if __name__ == "__main__":
    main()
