from ioworkload.core.manifest import Scenario

CONSTANTS: dict[str, int]
KERNEL_O_LARGEFILE: int
BPF_MAP_ATTR_BYTES: int
SCENARIOS: list[Scenario]
IOR_SCENARIOS: list[Scenario]
IOR_QUEUE_REFUSED: str
