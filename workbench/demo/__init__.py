"""The demo estate: every supported platform on local emulators, synced and scanned (``vmwb demo``)."""

from workbench.demo.build import DemoEstate, build_demo
from workbench.demo.parts import PARTS, DemoPart, PartUnavailable

__all__ = ["PARTS", "DemoEstate", "DemoPart", "PartUnavailable", "build_demo"]
