#define _GNU_SOURCE 1
#include <sys/socket.h>

#include "tickwire_shim.h"

int tw_accept4(int fd) {
    return accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
}
