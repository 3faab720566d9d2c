/*
 * test_verdicts - the queue instance's recent verdicts: a retried request
 * finds the verdict given, another account or queue ID finds none, a
 * verdict changes in place, a colliding newer ID takes the slot, and IDs
 * that do not fit are never stored.
 */
#include <stdio.h>
#include <string.h>

#include "verdicts.h"
#include "t.h"

int
main(void)
{
	struct verdicts	*t;
	char		 id[64];
	unsigned	 i, kept;

	T_OK((t = verdicts_new(8)) != NULL, "a table of 8");
	T_EQ_U(verdicts_find(t, "4XyzAbC1", 2), VERDICT_NONE, "empty");
	verdicts_put(t, "4XyzAbC1", 2, VERDICT_CHARGED);
	T_EQ_U(verdicts_find(t, "4XyzAbC1", 2), VERDICT_CHARGED,
	    "a retry finds the charge");
	T_EQ_U(verdicts_find(t, "4XyzAbC1", 3), VERDICT_NONE,
	    "another account's request finds nothing");
	T_EQ_U(verdicts_find(t, "4XyzAbC2", 2), VERDICT_NONE,
	    "another queue ID finds nothing");
	verdicts_put(t, "4XyzAbC1", 2, VERDICT_HELD);
	T_EQ_U(verdicts_find(t, "4XyzAbC1", 2), VERDICT_HELD,
	    "a lost answer turns the charge into a hold");
	T_EQ_U(verdicts_find(t, "", 2), VERDICT_NONE, "empty ID");
	T_EQ_U(verdicts_find(t, NULL, 2), VERDICT_NONE, "no ID");
	memset(id, 'A', 32);
	id[32] = '\0';
	verdicts_put(t, id, 2, VERDICT_CHARGED);
	T_EQ_U(verdicts_find(t, id, 2), VERDICT_NONE,
	    "a 32-byte ID is not stored");
	id[31] = '\0';
	verdicts_put(t, id, 2, VERDICT_CHARGED);
	T_EQ_U(verdicts_find(t, id, 2), VERDICT_CHARGED,
	    "a 31-byte ID is stored");

	/* 8 slots, 100 IDs: the newest of each slot stays, older ones go,
	 * and nothing is ever found under a wrong ID */
	for (i = 0; i < 100; i++) {
		snprintf(id, sizeof(id), "Q%u", i);
		verdicts_put(t, id, 7, VERDICT_CHARGED);
	}
	for (i = 0, kept = 0; i < 100; i++) {
		snprintf(id, sizeof(id), "Q%u", i);
		kept += verdicts_find(t, id, 7) == VERDICT_CHARGED;
	}
	T_OK(kept >= 1 && kept <= 8, "at most one ID per slot (%u kept)",
	    kept);
	snprintf(id, sizeof(id), "Q%u", 99);
	T_EQ_U(verdicts_find(t, id, 7), VERDICT_CHARGED, "the newest stays");
	verdicts_free(t);
	verdicts_free(NULL);
	return t_done();
}
