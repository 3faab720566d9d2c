/*
 * fuzz_config - libFuzzer entry: any bytes as a mailgov.conf.  The parser
 * must answer 0 or -1 with a one-line, NUL-terminated error, never crash,
 * and on success leave a config that keeps its own invariants.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config c;
	char	 err[256];
	size_t	 i;

	config_defaults(&c);
	memset(err, 'x', sizeof(err));
	if (config_parse(&c, "fuzz.conf", (const char *)data, size, err,
	    sizeof(err)) == -1) {
		/* the message is a terminated single line */
		if (memchr(err, '\0', sizeof(err)) == NULL ||
		    strchr(err, '\n') != NULL)
			abort();
		return 0;
	}
	if (c.mark_allow == 0 || c.mark_reject == 0 ||
	    (c.mark_allow & ~c.mark_mask) || (c.mark_reject & ~c.mark_mask) ||
	    (c.mark_allow & c.mark_reject) || c.relay_port == c.queue_port ||
	    c.n_web_uids > CONFIG_MAX_RANGES ||
	    c.n_web_gids > CONFIG_MAX_GROUPS ||
	    c.n_smtp_ports == 0 || c.n_smtp_ports > CONFIG_MAX_PORTS)
		abort();
	for (i = 0; i < c.n_web_uids; i++)
		if (c.web_uids[i].lo > c.web_uids[i].hi)
			abort();
	if (memchr(c.db, '\0', sizeof(c.db)) == NULL || c.db[0] != '/' ||
	    memchr(c.policy_tcp, '\0', sizeof(c.policy_tcp)) == NULL)
		abort();
	return 0;
}
