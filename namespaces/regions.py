"""The regions a namespace can live in: here one, the engine this control plane provisions.

Plain data, shown by both API faces (Cloud Ops ``GetRegions``/``GetRegion`` and the REST API's
``/regions``), with the fields of Temporal Cloud's ``Region`` message.
"""

from __future__ import annotations

from dataclasses import dataclass

from accounts.errors import NotFound


@dataclass(frozen=True)
class Region:
    id: str
    cloud_provider: str  # "aws" or "gcp" in Temporal Cloud; empty here (no cloud provider)
    cloud_provider_region: str
    location: str


LOCAL_REGION = Region(
    id="sundial-local",
    cloud_provider="",
    cloud_provider_region="local",
    location="The local Sundial engine",
)
REGION_ID = LOCAL_REGION.id
REGIONS: tuple[Region, ...] = (LOCAL_REGION,)


def region_list() -> list[Region]:
    return list(REGIONS)


def region_get(region: str) -> Region:
    """A region by id; an unknown one is NotFound."""
    for found in REGIONS:
        if found.id == region:
            return found
    raise NotFound(f"region {region!r} not found (the only region is {REGION_ID!r})")
