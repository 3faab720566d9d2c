/*
 * flowbench - the flow table alone (src/kernel/flow.c from libmailgov.a), at
 * mailgovd's size: flow_new(N), then N distinct flows inserted, looked up
 * (present and absent), expired and deleted, timed per operation, with
 * the process's resident memory (VmRSS, VmHWM) before and after.  No
 * packets, no daemon: this is the data structure's cost, not the kernel
 * path's.  Keys are IPv4 (source address, source port) pairs spread the
 * way many web users' connections from a few server addresses would be:
 * 16 addresses x 65536 ports, in random order.  Trusts nothing; prints
 * one block of key=value lines.
 *
 * Usage: flowbench [-n FLOWS] (default 1048576)
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

#include "flow.h"

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* vm - one "VmXXX:" figure of this process, in kB */
static long
vm(const char *name)
{
	char line[256];
	size_t len = strlen(name);
	long kb = -1;
	FILE *f;

	if ((f = fopen("/proc/self/status", "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, name, len) == 0 && line[len] == ':') {
			kb = atol(line + len + 1);
			break;
		}
	fclose(f);
	return kb;
}

/* keyof - the i-th key: address 10.0.(i >> 24).(i >> 16), port i's low
 * 16 bits; absent keys are the same under 172/8 */
static void
keyof(struct flow_key *k, uint32_t i, int absent)
{
	memset(k, 0, sizeof(*k));
	k->family = AF_INET;
	k->addr[0] = absent ? 172 : 10;
	k->addr[2] = (uint8_t)(i >> 24);
	k->addr[3] = (uint8_t)(i >> 16);
	k->port = (uint16_t)(i & 0xffff);
}

int
main(int argc, char **argv)
{
	struct flows *t;
	struct flow f;
	uint32_t *order, tmp;
	uint64_t rng = 88172645463325252ULL, t0, now = 1700000000;
	size_t n = 1048576, i, j, hits = 0, got;
	long rss0, rss1, rss2;
	int ch;

	while ((ch = getopt(argc, argv, "n:")) != -1) {
		if (ch != 'n') {
			fprintf(stderr, "usage: flowbench [-n FLOWS]\n");
			return 2;
		}
		n = strtoul(optarg, NULL, 10);
	}
	if (n < 1024 || n > 16777216 ||
	    (order = malloc(n * sizeof(*order))) == NULL) {
		fprintf(stderr, "flowbench: bad -n or out of memory\n");
		return 1;
	}
	/* a random permutation: inserts and lookups in no helpful order */
	for (i = 0; i < n; i++)
		order[i] = (uint32_t)i;
	for (i = n - 1; i > 0; i--) {
		rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
		j = rng % (i + 1);
		tmp = order[i]; order[i] = order[j]; order[j] = tmp;
	}
	rss0 = vm("VmRSS");

	t0 = now_ns();
	if ((t = flow_new(n)) == NULL) {
		fprintf(stderr, "flowbench: flow_new(%zu) failed\n", n);
		return 1;
	}
	printf("flows=%zu\nnew_ms=%.1f\n", n, (double)(now_ns() - t0) / 1e6);
	/* one UID fills the table: the per-UID share is not measured here */
	flow_set_uid_max(t, n);
	rss1 = vm("VmRSS");

	memset(&f, 0, sizeof(f));
	f.uid = 64001;
	f.account = 2;
	f.dport = 25;
	f.seen = now;
	f.expires = now + 3600;
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		keyof(&f.key, order[i], 0);
		if (flow_put(t, &f, now) == -1) {
			fprintf(stderr, "flowbench: insert %zu refused\n", i);
			return 1;
		}
	}
	printf("insert_ns=%.0f\n", (double)(now_ns() - t0) / (double)n);
	rss2 = vm("VmRSS");
	printf("count=%zu\n", flow_count(t));

	/* one more when full: refused (nothing has expired) */
	keyof(&f.key, 0, 1);
	printf("insert_when_full=%s\n",
	    flow_put(t, &f, now) == -1 ? "refused" : "accepted");

	t0 = now_ns();
	for (i = 0; i < n; i++) {
		keyof(&f.key, order[n - 1 - i], 0);
		hits += flow_get(t, &f.key, now) != NULL;
	}
	printf("lookup_hit_ns=%.0f\n", (double)(now_ns() - t0) / (double)n);
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		keyof(&f.key, order[i], 1);
		hits += flow_get(t, &f.key, now) != NULL;
	}
	printf("lookup_miss_ns=%.0f\nfound=%zu\n",
	    (double)(now_ns() - t0) / (double)n, hits);

	/* all expire an hour later: reclaimed 65536 per call, like mailgovd's
	 * once-a-second tick */
	t0 = now_ns();
	got = 0;
	for (i = 0; i < n / 65536 + 2; i++)
		got += flow_expire(t, now + 3600, 65536);
	printf("expire_ns=%.0f\nexpired=%zu\n",
	    got ? (double)(now_ns() - t0) / (double)got : 0.0, got);

	/* refill, then delete every flow (the RST/FIN path) */
	for (i = 0; i < n; i++) {
		keyof(&f.key, order[i], 0);
		(void)flow_put(t, &f, now);
	}
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		keyof(&f.key, order[i], 0);
		(void)flow_del(t, &f.key);
	}
	printf("delete_ns=%.0f\ncount_after=%zu\n",
	    (double)(now_ns() - t0) / (double)n, flow_count(t));

	printf("rss_before_kb=%ld\nrss_after_new_kb=%ld\nrss_full_kb=%ld\n"
	    "hwm_kb=%ld\nbytes_per_flow=%.0f\nsizeof_flow=%zu\n",
	    rss0, rss1, rss2, vm("VmHWM"),
	    (double)(rss2 - rss0) * 1024 / (double)n, sizeof(struct flow));
	flow_free(t);
	free(order);
	return 0;
}
