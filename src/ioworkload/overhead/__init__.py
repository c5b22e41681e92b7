"""The tracer-overhead study of `ioworkload overhead`: untraced and traced runs side by side
(study), the per-syscall table, the lossless-rate sweep, the eBPF programs' own cost, the text
report and the charts."""
