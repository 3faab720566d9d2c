/*
 * mark - the account header of held mail (see mark.h).
 *
 * SipHash-2-4 because it is a keyed PRF made for short inputs, small
 * enough to write here: mailgov takes no crypto library for one MAC.
 *
 * Trusts: nothing in a header value: it is parsed with fixed bounds and
 * accepted only with a MAC made under the key.
 */
#define _GNU_SOURCE		/* getrandom */
#include <sys/random.h>
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mark.h"

#define ROTL(x, b)	(uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

#define SIPROUND do {							\
	v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);	\
	v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;				\
	v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;				\
	v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);	\
} while (0)

static uint64_t
le64(const uint8_t *p)
{
	uint64_t v = 0;
	int	 i;

	for (i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static void
put_le64(uint8_t *p, uint64_t v)
{
	int	i;

	for (i = 0; i < 8; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

void
mark_siphash128(const uint8_t key[MARK_KEYLEN], const void *msg, size_t len,
    uint8_t out[16])
{
	const uint8_t	*m = msg, *end = m + (len - len % 8);
	uint64_t	 k0 = le64(key), k1 = le64(key + 8), b, mi;
	uint64_t	 v0 = 0x736f6d6570736575ull ^ k0;
	uint64_t	 v1 = 0x646f72616e646f6dull ^ k1 ^ 0xee;
	uint64_t	 v2 = 0x6c7967656e657261ull ^ k0;
	uint64_t	 v3 = 0x7465646279746573ull ^ k1;
	size_t		 i;

	for (; m != end; m += 8) {
		mi = le64(m);
		v3 ^= mi;
		SIPROUND;
		SIPROUND;
		v0 ^= mi;
	}
	b = (uint64_t)len << 56;
	for (i = 0; i < len % 8; i++)
		b |= (uint64_t)m[i] << (8 * i);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xee;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	put_le64(out, v0 ^ v1 ^ v2 ^ v3);
	v1 ^= 0xdd;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	put_le64(out + 8, v0 ^ v1 ^ v2 ^ v3);
}

int
mark_key_load(const char *path, uint8_t key[MARK_KEYLEN], char *err,
    size_t errlen)
{
	struct stat	sb;
	ssize_t		n;
	int		fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd == -1 && errno == ENOENT) {
		if (getrandom(key, MARK_KEYLEN, 0) != MARK_KEYLEN) {
			snprintf(err, errlen, "%s: no random bytes: %s", path,
			    strerror(errno));
			return -1;
		}
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
		    O_NOFOLLOW, 0600);
		if (fd != -1) {
			n = write(fd, key, MARK_KEYLEN);
			if (n != MARK_KEYLEN || fsync(fd) == -1) {
				snprintf(err, errlen, "%s: %s", path, n == -1 ||
				    n == MARK_KEYLEN ? strerror(errno) :
				    "short write");
				close(fd);
				(void)unlink(path);
				return -1;
			}
			close(fd);
			return 0;
		}
		if (errno != EEXIST) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return -1;
		}
		/* made meanwhile by another mailgovd: read it */
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	}
	if (fd == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    (sb.st_mode & 0077) != 0) {
		snprintf(err, errlen, "%s: not a regular file of mode 0600",
		    path);
		close(fd);
		return -1;
	}
	n = read(fd, key, MARK_KEYLEN);
	close(fd);
	if (n != MARK_KEYLEN) {
		snprintf(err, errlen, "%s: not a %d-byte key", path,
		    MARK_KEYLEN);
		return -1;
	}
	return 0;
}

/* tag - the MAC of "QUEUE_ID NAME" in lower-case hex (33 bytes) */
static void
tag(const uint8_t key[MARK_KEYLEN], const char *queue_id, const char *name,
    char hex[33])
{
	char	 msg[128];
	uint8_t	 mac[16];
	int	 n, i;

	n = snprintf(msg, sizeof(msg), "%s %s", queue_id, name);
	mark_siphash128(key, msg, (size_t)n, mac);
	for (i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
}

/* token_ok - 1 to max bytes from set (a lower-case name or a queue ID) */
static int
token_ok(const char *s, size_t len, size_t max, int name)
{
	size_t	i;

	if (len == 0 || len > max)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z' &&
		    !name) || (c >= 'a' && c <= 'z') ||
		    (name && i > 0 && (c == '.' || c == '_' || c == '-')))
			continue;
		return 0;
	}
	return 1;
}

int
mark_make(const uint8_t key[MARK_KEYLEN], const char *queue_id,
    const char *name, char *out, size_t outlen)
{
	char	hex[33];
	int	n;

	if (!token_ok(queue_id, strlen(queue_id), 31, 0) ||
	    !token_ok(name, strlen(name), 63, 1))
		return -1;
	tag(key, queue_id, name, hex);
	n = snprintf(out, outlen, "%s %s %s", name, queue_id, hex);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

int
mark_check(const uint8_t key[MARK_KEYLEN], const char *queue_id,
    const char *value, char *name, size_t namelen)
{
	const char	*p = value, *tok[3];
	size_t		 len[3], i;
	char		 nm[64], hex[33];
	unsigned	 diff = 0;

	for (i = 0; i < 3; i++) {
		while (*p == ' ' || *p == '\t')
			p++;
		tok[i] = p;
		while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\r' &&
		    *p != '\n')
			p++;
		len[i] = (size_t)(p - tok[i]);
	}
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	if (*p != '\0' || !token_ok(tok[0], len[0], 63, 1) ||
	    len[1] != strlen(queue_id) ||
	    memcmp(tok[1], queue_id, len[1]) != 0 || len[2] != 32 ||
	    len[0] >= namelen)
		return -1;
	memcpy(nm, tok[0], len[0]);
	nm[len[0]] = '\0';
	if (!token_ok(queue_id, strlen(queue_id), 31, 0))
		return -1;
	tag(key, queue_id, nm, hex);
	/* in constant time: a mismatch tells nothing about where */
	for (i = 0; i < 32; i++)
		diff |= (unsigned)(hex[i] ^ tok[2][i]);
	if (diff != 0)
		return -1;
	memcpy(name, nm, len[0] + 1);
	return 0;
}
