#define _GNU_SOURCE
#include "CMemFD.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/mman.h>
#include <sys/sendfile.h>
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

int sealgate_memfd_reopen(int fd) {
#if defined(__linux__)
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    return open(path, O_RDWR | O_CLOEXEC);
#else
    (void)fd;
    errno = ENOSYS;
    return -1;
#endif
}

long long sealgate_memfd_fill(int out_fd, long long out_offset, int in_fd, long long in_offset, long long count) {
#if defined(__linux__)
    if (lseek(out_fd, (off_t)out_offset, SEEK_SET) < 0) return -1;
    long long done = 0;
    off_t from = (off_t)in_offset;
    while (done < count) {
        ssize_t n = sendfile(out_fd, in_fd, &from, (size_t)(count - done));
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (n == 0) break;
        done += n;
    }
    return done;
#else
    (void)out_fd; (void)out_offset; (void)in_fd; (void)in_offset; (void)count;
    errno = ENOSYS;
    return -1;
#endif
}
