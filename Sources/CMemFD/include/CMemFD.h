#ifndef SEALGATE_CMEMFD_H
#define SEALGATE_CMEMFD_H

/// Creates an anonymous memory-backed file (memfd_create, MFD_CLOEXEC | MFD_ALLOW_SEALING). Returns the descriptor,
/// or -1 with errno set (ENOSYS where memfd does not exist).
int sealgate_memfd_create(const char *name);

/// Seals a memfd against any further change: no write, shrink or grow, and no new seal. Returns 0 or -1 (errno).
int sealgate_memfd_seal(int fd);

/// Opens a second, independent open file description of `fd` (its own file position) through /proc/self/fd,
/// read-write and close-on-exec, so two threads can write one memfd at their own positions. Returns it, or -1 (errno).
int sealgate_memfd_reopen(int fd);

/// Copies `count` bytes at `in_offset` of `in_fd` into `out_fd` at `out_offset` inside the kernel (lseek, then
/// sendfile until done): page-cache pages copied straight into the memfd's pages, which a write that covers them
/// whole allocates without zeroing first. Moves `out_fd`'s file position. Returns the bytes copied (fewer when
/// `in_fd` ends first), or -1 with errno set.
long long sealgate_memfd_fill(int out_fd, long long out_offset, int in_fd, long long in_offset, long long count);

#endif
