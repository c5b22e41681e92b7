from ioworkload.manifest import Scenario

SCENARIOS: list[Scenario]
