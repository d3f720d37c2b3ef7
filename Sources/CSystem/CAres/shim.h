// c-ares, the resolver the reactor drives (DNSResolver): its sockets go into
// the poller and its timeouts onto the timer queue, so a lookup never blocks
// the loop. Swift imports the header as it is; nothing needs wrapping.
#ifndef TICKWIRE_CARES_SHIM_H
#define TICKWIRE_CARES_SHIM_H

#include <ares.h>

#endif
