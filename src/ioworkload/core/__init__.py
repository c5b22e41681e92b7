"""One run of a scenario: its manifest and the registry, the expect document, the Cython runner
that issues the syscalls, the scenario process (spawn) and the kernel's own count (verify)."""
