/*
 * verdicts - recent END-OF-MESSAGE verdicts by queue ID (see verdicts.h).
 *
 * Trusts: nothing; a queue ID too long for a slot is not stored.
 */
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "verdicts.h"

#define VERDICT_IDLEN	32	/* Postfix queue IDs: at most 31 bytes */

struct slot {
	char		id[VERDICT_IDLEN];	/* "" when empty */
	int64_t		account;
	enum verdict	v;
};

struct verdicts {
	struct slot	*slot;
	size_t		 mask;
};

/* slot_of - hash_str, unseeded: queue IDs are short and not chosen by
 * an attacker (Postfix makes them) */
static size_t
slot_of(const struct verdicts *t, const char *id)
{
	return (size_t)hash_str(id) & t->mask;
}

struct verdicts *
verdicts_new(size_t slots)
{
	struct verdicts	*t;
	size_t		 n = 1;

	while (n < slots && n < ((size_t)1 << 24))
		n <<= 1;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	if ((t->slot = calloc(n, sizeof(*t->slot))) == NULL) {
		free(t);
		return NULL;
	}
	t->mask = n - 1;
	return t;
}

void
verdicts_free(struct verdicts *t)
{
	if (t == NULL)
		return;
	free(t->slot);
	free(t);
}

enum verdict
verdicts_find(const struct verdicts *t, const char *id, int64_t account)
{
	const struct slot *s;

	if (t == NULL || id == NULL || id[0] == '\0' ||
	    strlen(id) >= VERDICT_IDLEN)
		return VERDICT_NONE;
	s = &t->slot[slot_of(t, id)];
	if (s->account != account || strcmp(s->id, id) != 0)
		return VERDICT_NONE;
	return s->v;
}

void
verdicts_put(struct verdicts *t, const char *id, int64_t account,
    enum verdict v)
{
	struct slot	*s;
	size_t		 len;

	if (t == NULL || id == NULL || id[0] == '\0' ||
	    (len = strlen(id)) >= VERDICT_IDLEN)
		return;
	s = &t->slot[slot_of(t, id)];
	memcpy(s->id, id, len + 1);
	s->account = account;
	s->v = v;
}
