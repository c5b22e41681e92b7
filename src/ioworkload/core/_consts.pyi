COMMON: dict[str, int]
