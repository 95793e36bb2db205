"""Pure logic with no I/O: secret formats, digests, names, paging, money."""
