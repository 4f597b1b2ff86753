#ifndef SEALGATE_CMEMFD_H
#define SEALGATE_CMEMFD_H

/// Creates an anonymous memory-backed file (memfd_create, MFD_CLOEXEC | MFD_ALLOW_SEALING). Returns the descriptor,
/// or -1 with errno set (ENOSYS where memfd does not exist).
int sealgate_memfd_create(const char *name);

/// Seals a memfd against any further change: no write, shrink or grow, and no new seal. Returns 0 or -1 (errno).
int sealgate_memfd_seal(int fd);

#endif
