#define _GNU_SOURCE
#include "CMemFD.h"
#include <errno.h>
#include <fcntl.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

int sealgate_memfd_create(const char *name) {
#if defined(__linux__)
    return memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
#else
    (void)name;
    errno = ENOSYS;
    return -1;
#endif
}

int sealgate_memfd_seal(int fd) {
#if defined(__linux__)
    return fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
#else
    (void)fd;
    errno = ENOSYS;
    return -1;
#endif
}
