/*
 * fuzz_packet - libFuzzer entry: any bytes as the copied prefix of a
 * queued packet.  nfq_parse_packet must never read past the buffer (the
 * input is copied to an exact-size allocation so ASan sees an overread),
 * must answer a known outcome, and on success report a family, ports
 * that are really in the buffer, and nothing when it fails.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "nfq.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nfq_pkt p;
	enum nfq_pkt_err e;
	uint8_t *buf;

	if ((buf = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	memset(&p, 0xa5, sizeof(p));
	e = nfq_parse_packet(buf, size, &p);
	if ((unsigned)e >= NFQ_PKT_KINDS)
		abort();
	if (e == NFQ_PKT_OK) {
		if (p.family != AF_INET && p.family != AF_INET6)
			abort();
		/* the smallest packet that can parse: IPv4 + TCP */
		if (size < 40)
			abort();
	} else if (p.family != 0 || p.sport != 0 || p.dport != 0)
		abort();
	free(buf);
	return 0;
}
