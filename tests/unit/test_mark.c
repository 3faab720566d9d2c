/*
 * test_mark - the account header of held mail: SipHash-2-4-128 against
 * the reference vectors, marks that verify for their own queue ID only,
 * forgeries and malformed values refused, and the key file created 0600
 * and read back.
 */
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mark.h"
#include "t.h"

static void
hex(const uint8_t *b, size_t n, char *out)
{
	size_t	i;

	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

int
main(void)
{
	uint8_t	 key[MARK_KEYLEN], key2[MARK_KEYLEN], msg[64], out[16];
	char	 h[33], v[MARK_VALUE_MAX], bad[MARK_VALUE_MAX], name[64];
	char	 dir[] = "/tmp/mailgov-mark.XXXXXX", path[128], err[256];
	struct stat sb;
	size_t	 i;

	/* the reference implementation's vectors: key 00..0f, message
	 * 00..(n-1) */
	for (i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	for (i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)i;
	mark_siphash128(key, msg, 0, out);
	hex(out, 16, h);
	T_EQ_S(h, "a3817f04ba25a8e66df67214c7550293", "vector, 0 bytes");
	mark_siphash128(key, msg, 15, out);
	hex(out, 16, h);
	T_EQ_S(h, "5493e99933b0a8117e08ec0f97cfc3d9", "vector, 15 bytes");

	T_EQ_U(mark_make(key, "4XyzAbC1", "shop", v, sizeof(v)), 0, "make");
	T_OK(strncmp(v, "shop 4XyzAbC1 ", 14) == 0 && strlen(v) == 46,
	    "the value reads NAME QUEUE_ID MAC: %s", v);
	T_EQ_U(mark_check(key, "4XyzAbC1", v, name, sizeof(name)), 0,
	    "its own queue ID");
	T_EQ_S(name, "shop", "the account");
	T_EQ_U(mark_check(key, "4XyzAbC2", v, name, sizeof(name)),
	    (uint64_t)-1, "another queue ID (a copied mark)");
	memcpy(key2, key, sizeof(key2));
	key2[0] ^= 1;
	T_EQ_U(mark_check(key2, "4XyzAbC1", v, name, sizeof(name)),
	    (uint64_t)-1, "another key");
	snprintf(bad, sizeof(bad), "bank%s", v + 4);
	T_EQ_U(mark_check(key, "4XyzAbC1", bad, name, sizeof(name)),
	    (uint64_t)-1, "another account's name on the same MAC");
	snprintf(bad, sizeof(bad), "%s", v);
	bad[strlen(bad) - 1] ^= 1;
	T_EQ_U(mark_check(key, "4XyzAbC1", bad, name, sizeof(name)),
	    (uint64_t)-1, "one bit of the MAC");
	snprintf(bad, sizeof(bad), "%s x", v);
	T_EQ_U(mark_check(key, "4XyzAbC1", bad, name, sizeof(name)),
	    (uint64_t)-1, "trailing text");
	snprintf(bad, sizeof(bad), "  %s\r\n", v);
	T_EQ_U(mark_check(key, "4XyzAbC1", bad, name, sizeof(name)), 0,
	    "folding white space around it");
	T_EQ_U(mark_check(key, "4XyzAbC1", "", name, sizeof(name)),
	    (uint64_t)-1, "empty");
	T_EQ_U(mark_check(key, "4XyzAbC1", "shop 4XyzAbC1", name,
	    sizeof(name)), (uint64_t)-1, "no MAC");
	T_EQ_U(mark_check(key, "4XyzAbC1", v, name, 4), (uint64_t)-1,
	    "a name that does not fit the caller's buffer");
	T_EQ_U(mark_make(key, "4Xyz/bC1", "shop", v, sizeof(v)),
	    (uint64_t)-1, "a bad queue ID is not marked");
	T_EQ_U(mark_make(key, "4XyzAbC1", "Shop", v, sizeof(v)),
	    (uint64_t)-1, "a bad name is not marked");
	T_EQ_U(mark_make(key, "4XyzAbC1", "shop", v, 20), (uint64_t)-1,
	    "a value that does not fit");

	if (mkdtemp(dir) == NULL)
		return 2;
	snprintf(path, sizeof(path), "%s/key", dir);
	T_EQ_U(mark_key_load(path, key, err, sizeof(err)), 0,
	    "a new key is made");
	T_OK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600 &&
	    sb.st_size == MARK_KEYLEN, "mode 0600, 16 bytes");
	T_EQ_U(mark_key_load(path, key2, err, sizeof(err)), 0, "read back");
	T_OK(memcmp(key, key2, MARK_KEYLEN) == 0, "the same key");
	chmod(path, 0644);
	T_EQ_U(mark_key_load(path, key2, err, sizeof(err)), (uint64_t)-1,
	    "a key others can read is refused");
	unlink(path);
	rmdir(dir);
	return t_done();
}
