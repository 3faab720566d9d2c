/*
 * fuzz_msg - libFuzzer target for mailgov-sendmail's message handling.
 * The first byte picks the options (-t, -i, -F, a small size bound), the
 * rest is the message, and with two flag bits also a -F name; the same bytes also go through msg_add_list as an
 * address list.  Every recipient that comes out must pass msg_addr_ok and
 * the output must be CRLF lines with no bare CR or LF and no NUL; the -F
 * name's RFC 2047 words must be at most 75 characters and decode to
 * well-formed UTF-8, as their charset says.
 */
#define _GNU_SOURCE	/* memmem */
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

/* utf8_ok - p[0..n) is well-formed UTF-8 (shortest forms, no surrogate,
 * at most U+10FFFF), decoded independently of msg.c */
static int
utf8_ok(const unsigned char *p, size_t n)
{
	static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
	size_t	 i = 0, k, len;
	uint32_t cp;

	while (i < n) {
		len = p[i] < 0x80 ? 1 : (p[i] & 0xe0) == 0xc0 ? 2 :
		    (p[i] & 0xf0) == 0xe0 ? 3 : (p[i] & 0xf8) == 0xf0 ? 4 : 0;
		if (len == 0 || i + len > n)
			return 0;
		cp = len == 1 ? p[i] : p[i] & (0x7f >> len);
		for (k = 1; k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if (cp < min[len] || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += len;
	}
	return 1;
}

/* check_words - an encoded name (the From: line starts with a word) is
 * words alone, each "=?UTF-8?B?...?=", bounded, and its base64 decodes
 * to well-formed UTF-8 */
static void
check_words(const struct msg *m, const char *sender)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned char buf[64];
	const char *p, *e, *c, *end;
	size_t	 n, bits;
	uint32_t v;

	if (m->len < 8 || memcmp(m->data, "From: =?", 8) != 0)
		return;		/* an ASCII name, quoted or not */
	if ((end = memmem(m->data, m->len, sender, strlen(sender))) == NULL)
		abort();
	for (p = m->data; p + 10 <= end; p++) {
		if (memcmp(p, "=?", 2) != 0)
			continue;
		if (memcmp(p, "=?UTF-8?B?", 10) != 0)
			abort();
		for (e = p + 10; e + 1 < end && memcmp(e, "?=", 2) != 0; e++)
			;
		if (e + 1 >= end || e + 2 - p > 75)
			abort();
		n = 0, bits = 0, v = 0;
		for (c = p + 10; c < e && *c != '='; c++) {
			const char *t = memchr(tab, *c, 64);

			if (t == NULL)
				abort();
			v = v << 6 | (uint32_t)(t - tab);
			if ((bits += 6) >= 8) {
				bits -= 8;
				buf[n++] = (unsigned char)(v >> bits);
			}
		}
		if (!utf8_ok(buf, n))
			abort();
		p = e + 1;
	}
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
		if (msg_parse(&m, "Subject: s\n\nb\n", 14, &o) == MSG_OK) {
			check_output(&m);
			check_words(&m, " <shop@example.test>\r\n");
		} else
			abort();	/* a name never makes the message bad */
		msg_free(&m);
	}

	msg_init(&m);
	(void)msg_add_list(&m, in, size, "fuzz");
	check_output(&m);
	msg_free(&m);
	return 0;
}
