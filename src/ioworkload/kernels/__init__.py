"""`ioworkload kernels`: one ioworkload command on several kernels, each booted in a VM by
virtme-ng (command.py: options, the loop over kernels; fetch.py: Debian's kernel packages into
the cache; vm.py: booting, and the guest's command line; guard.py: the keeper that stops a VM
on every path; guest.py: what runs on the kernel under test; report.py: the matrix)."""
