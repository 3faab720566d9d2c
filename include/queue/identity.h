/*
 * identity - who opened the SMTP session the queue instance is serving.
 * First the kernel path's flow table (redirected sockets: the client's
 * source address and port), then NETLINK_SOCK_DIAG on the exact 4-tuple
 * (direct connections to the queue port), which gives the socket owner's
 * UID.  Never blocks for long: one netlink round trip at most.
 */
#ifndef MAILGOV_IDENTITY_H
#define MAILGOV_IDENTITY_H

#include <stdint.h>

#include "flow.h"

/*
 * identity_uid - the UID behind client addr:port talking to server
 * saddr:sport.  Returns 0 with *uid set, or -1 when unknown.
 */
int	identity_uid(struct flows *, const char *caddr, uint16_t cport,
	    const char *saddr, uint16_t sport, uint64_t now, uint32_t *uid);

/*
 * identity_socket - identity_uid, and the inode of the client's socket
 * in *inode (0 when its owner has closed it): sockproc.h names the
 * process that holds it
 */
int	identity_socket(struct flows *, const char *caddr, uint16_t cport,
	    const char *saddr, uint16_t sport, uint64_t now, uint32_t *uid,
	    uint64_t *inode);

/*
 * identity_inode - owner and inode of the TCP socket src:sport ->
 * dst:dport (addresses of family, IPv4 in the first 4 bytes), by one
 * exact SOCK_DIAG question and no retry per device: for the kernel path,
 * right after a SYN's verdict.  0, or -1 when not found.
 */
int	identity_inode(int family, const uint8_t src[16], uint16_t sport,
	    const uint8_t dst[16], uint16_t dport, uint32_t *uid,
	    uint64_t *inode);

/* identity_sock_diag - the SOCK_DIAG half alone (tests use it) */
int	identity_sock_diag(const char *caddr, uint16_t cport,
	    const char *saddr, uint16_t sport, uint32_t *uid);

#endif
