/*
 * test_nfq - the packet parser: IPv4 with and without options, IPv6 with
 * extension headers, and every way a packet can be odd.  Each case is
 * also parsed at every shorter length, which must never read past the
 * end (run under ASan) and never claim success.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "nfq.h"
#include "t.h"

/* tcp - a 20-byte TCP header at p: sport, dport, flags */
static size_t
tcp(uint8_t *p, uint16_t sport, uint16_t dport, uint8_t flags)
{
	memset(p, 0, 20);
	p[0] = sport >> 8; p[1] = sport & 0xff;
	p[2] = dport >> 8; p[3] = dport & 0xff;
	p[12] = 5 << 4;
	p[13] = flags;
	return 20;
}

/* v4 - an IPv4 SYN with ihl words of header */
static size_t
v4(uint8_t *p, unsigned ihl, uint8_t proto, uint16_t frag)
{
	size_t h = ihl * 4;

	memset(p, 0, h);
	p[0] = 0x40 | ihl;
	p[2] = 0; p[3] = (uint8_t)(h + 20);
	p[6] = frag >> 8; p[7] = frag & 0xff;
	p[8] = 64;
	p[9] = proto;
	p[12] = 192; p[13] = 0; p[14] = 2; p[15] = 1;
	p[16] = 192; p[17] = 0; p[18] = 2; p[19] = 25;
	return h + tcp(p + h, 40000, 25, 0x02);
}

/* v6 - an IPv6 SYN behind the extension headers in ext (nexthdr list) */
static size_t
v6(uint8_t *p, const uint8_t *ext, size_t next, uint16_t fragoff)
{
	size_t off = 40, i;

	memset(p, 0, 40);
	p[0] = 0x60;
	p[6] = next ? ext[0] : 6;
	p[7] = 64;
	p[8] = 0x20; p[9] = 0x01; p[10] = 0x0d; p[11] = 0xb8; p[23] = 1;
	p[24] = 0x20; p[25] = 0x01; p[26] = 0x0d; p[27] = 0xb8; p[39] = 0x25;
	for (i = 0; i < next; i++) {
		memset(p + off, 0, 16);
		p[off] = i + 1 < next ? ext[i + 1] : 6;
		if (ext[i] == 44) {
			p[off + 2] = fragoff >> 8;
			p[off + 3] = fragoff & 0xff;
			off += 8;
		} else if (ext[i] == 51) {
			p[off + 1] = 2;		/* (2+2)*4 = 16 bytes */
			off += 16;
		} else {
			p[off + 1] = 1;		/* (1+1)*8 = 16 bytes */
			off += 16;
		}
	}
	return off + tcp(p + off, 40001, 587, 0x02);
}

/* prefixes - no shorter prefix of a packet may parse as OK */
static void
prefixes(const uint8_t *p, size_t len, const char *name)
{
	struct nfq_pkt k;
	uint8_t *copy;
	size_t i, bad = 0;

	for (i = 0; i < len; i++) {
		/* an exact-size heap copy, so ASan sees any overread */
		copy = malloc(i ? i : 1);
		memcpy(copy, p, i);
		if (nfq_parse_packet(copy, i, &k) == NFQ_PKT_OK)
			bad++;
		free(copy);
	}
	T_EQ_U(bad, 0, name);
}

static void
test_ipv4(void)
{
	uint8_t p[128];
	struct nfq_pkt k;
	size_t n;

	n = v4(p, 5, 6, 0);
	T_EQ_U(nfq_parse_packet(p, n, &k), NFQ_PKT_OK, "v4 SYN parses");
	T_EQ_U(k.family, AF_INET, "v4 family");
	T_EQ_U(k.sport, 40000, "v4 sport");
	T_EQ_U(k.dport, 25, "v4 dport");
	T_EQ_U(k.tcp_flags, 0x02, "v4 flags");
	T_EQ_U(k.daddr[3], 25, "v4 daddr");
	T_EQ_U(k.saddr[3], 1, "v4 saddr");
	prefixes(p, n, "v4 prefixes never parse");

	n = v4(p, 15, 6, 0);
	T_EQ_U(nfq_parse_packet(p, n, &k), NFQ_PKT_OK, "v4 with 40B options");
	T_EQ_U(k.dport, 25, "v4 options: dport past them");
	prefixes(p, n, "v4 options prefixes");

	n = v4(p, 5, 6, 0);
	p[0] = 0x44;
	T_EQ_U(nfq_parse_packet(p, n, &k), NFQ_PKT_HDRLEN, "ihl 4");
	n = v4(p, 5, 17, 0);
	T_EQ_U(nfq_parse_packet(p, n, &k), NFQ_PKT_NOT_TCP, "v4 udp");
	n = v4(p, 5, 6, 0x0010);
	T_EQ_U(nfq_parse_packet(p, n, &k), NFQ_PKT_FRAGMENT, "v4 fragment");
	n = v4(p, 5, 6, 0x2000);	/* MF on the first fragment: fine */
	T_EQ_U(nfq_parse_packet(p, n, &k), NFQ_PKT_OK, "v4 first fragment");
	n = v4(p, 5, 6, 0);
	p[3] = 10;
	T_EQ_U(nfq_parse_packet(p, n, &k), NFQ_PKT_HDRLEN, "tot_len < ihl");
	n = v4(p, 5, 6, 0);
	p[20 + 12] = 4 << 4;
	T_EQ_U(nfq_parse_packet(p, n, &k), NFQ_PKT_HDRLEN, "tcp doff 4");
	p[0] = 0x55;
	T_EQ_U(nfq_parse_packet(p, n, &k), NFQ_PKT_VERSION, "version 5");
	T_EQ_U(nfq_parse_packet(NULL, 0, &k), NFQ_PKT_TRUNCATED, "NULL");
}

static void
test_ipv6(void)
{
	static const uint8_t none[1] = { 0 };
	static const uint8_t chain[4] = { 0, 60, 43, 51 };
	static const uint8_t frag[1] = { 44 };
	static const uint8_t esp[1] = { 50 };
	static const uint8_t nine[9] = { 0, 60, 60, 60, 60, 60, 60, 60, 60 };
	uint8_t p[256];
	struct nfq_pkt k;
	size_t n;

	n = v6(p, none, 0, 0);
	T_EQ_U(nfq_parse_packet(p, n, &k), NFQ_PKT_OK, "v6 SYN parses");
	T_EQ_U(k.family, AF_INET6, "v6 family");
	T_EQ_U(k.dport, 587, "v6 dport");
	T_EQ_U(k.daddr[15], 0x25, "v6 daddr");
	prefixes(p, n, "v6 prefixes never parse");

	n = v6(p, chain, 4, 0);
	T_EQ_U(nfq_parse_packet(p, n, &k), NFQ_PKT_OK, "v6 behind 4 ext");
	T_EQ_U(k.sport, 40001, "v6 ext: sport");
	prefixes(p, n, "v6 ext prefixes never parse");

	n = v6(p, frag, 1, 0);
	T_EQ_U(nfq_parse_packet(p, n, &k), NFQ_PKT_OK, "v6 first fragment");
	n = v6(p, frag, 1, 0x0100);
	T_EQ_U(nfq_parse_packet(p, n, &k), NFQ_PKT_FRAGMENT, "v6 fragment");
	n = v6(p, esp, 1, 0);
	T_EQ_U(nfq_parse_packet(p, n, &k), NFQ_PKT_NOT_TCP, "v6 esp");
	n = v6(p, nine, 9, 0);
	T_EQ_U(nfq_parse_packet(p, n, &k), NFQ_PKT_V6_EXT, "v6 9 ext");
	T_EQ_S(nfq_pkt_err_name(NFQ_PKT_V6_EXT), "ipv6-extension-chain",
	    "error names");
	T_EQ_S(nfq_pkt_err_name((enum nfq_pkt_err)99), "unknown",
	    "unknown error name");
}

int
main(void)
{
	test_ipv4();
	test_ipv6();
	return t_done();
}
