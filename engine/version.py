"""The Sundial version the engine reports to clients."""

from importlib import metadata


def sundial_version() -> str:
    """Return the installed `sundial` distribution's version (or a marker when not installed)."""
    try:
        return metadata.version("sundial")
    except metadata.PackageNotFoundError:
        return "0.0.0+unknown"
