/*
 * fuzz_msg - libFuzzer target for mailgov-sendmail's message handling.
 * The first byte picks the options (-t, -i, -F, a small size bound), the
 * rest is the message, and with two flag bits also a -F name; the same bytes also go through msg_add_list as an
 * address list.  Every recipient that comes out must pass msg_addr_ok and
 * the output must be CRLF lines with no bare CR or LF and no NUL.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"

/* check_output - the invariants the SMTP client relies on */
static void
check_output(const struct msg *m)
{
	size_t	 i;

	for (i = 0; i < m->nrcpt; i++)
		if (!msg_addr_ok(m->rcpt[i], strlen(m->rcpt[i])))
			abort();
	if (m->data == NULL)
		return;
	for (i = 0; i < m->len; i++) {
		if (m->data[i] == '\0')
			abort();
		if (m->data[i] == '\r' &&
		    (i + 1 == m->len || m->data[i + 1] != '\n'))
			abort();
		if (m->data[i] == '\n' && (i == 0 || m->data[i - 1] != '\r'))
			abort();
		/* a line "." would end DATA early: stuffing must prevent it */
		if (m->data[i] == '.' && (i == 0 || m->data[i - 1] == '\n') &&
		    i + 2 < m->len && m->data[i + 1] == '\r')
			abort();
	}
	if (m->len > 0 && (m->len < 2 || m->data[m->len - 1] != '\n'))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* LLVMFuzzerTestOneInput - one input through msg_parse and msg_add_list */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct msg_opts o;
	struct msg m;
	const char *in;
	uint8_t	 flags;

	if (size == 0)
		return 0;
	flags = data[0];
	in = (const char *)data + 1;
	size--;
	memset(&o, 0, sizeof(o));
	o.extract = flags & 1;
	o.dot_ends = (flags >> 1) & 1;
	o.truncated = (flags >> 2) & 1;
	o.max_size = (flags & 8) ? 64 : MSG_SIZE_DEFAULT;
	if (flags & 16) {
		o.full_name = "Shop \"x\", (y)";
		o.sender = "shop@example.test";
	}
	msg_init(&m);
	if (msg_parse(&m, in, size, &o) == MSG_OK)
		check_output(&m);
	else if (m.err[0] == '\0')
		abort();		/* every failure says why */
	msg_free(&m);

	/* the bytes as a -F name: whatever they hold, the From: line made
	 * of them must keep the invariants */
	if ((flags & 48) == 48) {
		char	 name[512];
		size_t	 n = size < sizeof(name) - 1 ? size : sizeof(name) - 1;

		memcpy(name, in, n);
		name[n] = '\0';
		memset(&o, 0, sizeof(o));	/* no -t, no size bound */
		o.max_size = MSG_SIZE_DEFAULT;
		o.sender = "shop@example.test";
		o.full_name = name;
		msg_init(&m);
		if (msg_parse(&m, "Subject: s\n\nb\n", 14, &o) == MSG_OK)
			check_output(&m);
		else
			abort();	/* a name never makes the message bad */
		msg_free(&m);
	}

	msg_init(&m);
	(void)msg_add_list(&m, in, size, "fuzz");
	check_output(&m);
	msg_free(&m);
	return 0;
}
