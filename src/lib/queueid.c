/*
 * queueid - the Postfix queue ID validator (see queueid.h).
 *
 * Trusts: nothing.
 */
#include <ctype.h>
#include <stddef.h>

#include "queueid.h"

int
queueid_ok(const char *q)
{
	size_t	i;

	if (q == NULL)
		return 0;
	for (i = 0; q[i] != '\0'; i++)
		if (i >= QUEUEID_MAX || !isalnum((unsigned char)q[i]))
			return 0;
	return i >= QUEUEID_MIN;
}
