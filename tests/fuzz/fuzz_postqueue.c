/*
 * fuzz_postqueue - libFuzzer entry: any bytes as one line of "postqueue -j"
 * output.  The line is mail-sender controlled (envelope senders, queue
 * IDs of whatever Postfix accepted), so pf_qline_parse must never read
 * past it (the input is copied to an exact-size allocation so ASan sees an
 * overread), must answer 0 or -1, and on success hand back terminated
 * fields with a queue ID that queueid_ok accepts.  Trailing
 * white space after the object may not change the answer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "postfix.h"
#include "queueid.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* check - the invariants of one parse result */
static void
check(int r, const struct pf_qentry *e)
{
	if (r != 0 && r != -1)
		abort();
	if (r != 0)
		return;
	if (memchr(e->queue_name, '\0', sizeof(e->queue_name)) == NULL ||
	    memchr(e->queue_id, '\0', sizeof(e->queue_id)) == NULL ||
	    memchr(e->sender, '\0', sizeof(e->sender)) == NULL)
		abort();
	if (e->queue_name[0] == '\0' || !queueid_ok(e->queue_id) ||
	    e->arrival_time < 0)
		abort();
}

/* LLVMFuzzerTestOneInput - the line alone, then with a newline after it */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pf_qentry a, b;
	char	*buf;
	int	 ra, rb;

	if ((buf = malloc(size + 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	ra = pf_qline_parse(buf, size, &a);
	check(ra, &a);
	buf[size] = '\n';
	rb = pf_qline_parse(buf, size + 1, &b);
	check(rb, &b);
	if (ra != rb && size + 1 <= PF_QLINE_MAX)
		abort();
	if (ra == 0 && memcmp(&a, &b, sizeof(a)) != 0)
		abort();
	free(buf);
	return 0;
}
