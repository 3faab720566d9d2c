/*
 * fuzz_redo - libFuzzer target for the redo log's record parser
 * (redo_scan), which mailgovd runs over the whole file at start-up.  The
 * input is a log image.  With the first byte odd, the harness first
 * makes the record header at offset 512 carry a valid crc32, so that the
 * fuzzer also explores what comes after the checksum.  Every record
 * handed over must lie inside the image, and every row must decode.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "redo.h"

struct bounds {
	const unsigned char *buf;
	size_t	 len;
};

/* check - a record from redo_scan: inside the image, rows readable */
static void
check(uint64_t seq, const unsigned char *rows, uint32_t n, void *arg)
{
	struct bounds *b = arg;
	struct store_usage u;
	uint32_t i;

	(void)seq;
	if (n == 0 || n > REDO_ROWS_MAX || rows < b->buf ||
	    (size_t)(rows - b->buf) + (size_t)n * 136 > b->len)
		abort();
	for (i = 0; i < n; i++)
		redo_row(rows, i, &u);
}

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bounds b;
	unsigned char *buf, hdr[32];
	uint32_t n, crc;

	if (size == 0)
		return 0;
	if ((buf = malloc(size)) == NULL)
		return 0;
	memcpy(buf, data, size);
	if ((data[0] & 1) && size >= 512 + 32) {
		n = (uint32_t)buf[512 + 8] | (uint32_t)buf[512 + 9] << 8;
		if ((size_t)n * 136 <= size - 512 - 32) {
			buf[512 + 10] = buf[512 + 11] = 0;
			memcpy(hdr, buf + 512, 32);
			memset(hdr + 12, 0, 4);
			crc = redo_crc32(redo_crc32(0, hdr, 32),
			    buf + 512 + 32, (size_t)n * 136);
			buf[512 + 12] = (unsigned char)crc;
			buf[512 + 13] = (unsigned char)(crc >> 8);
			buf[512 + 14] = (unsigned char)(crc >> 16);
			buf[512 + 15] = (unsigned char)(crc >> 24);
		}
	}
	b.buf = buf;
	b.len = size;
	(void)redo_scan(buf, size, check, &b);
	free(buf);
	return 0;
}
