/*
 * test_json - the strict JSON reader: what it accepts, the tree it
 * builds, and one refusal per rule, each with the line it names.
 */
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "t.h"

static const struct json_limits lim = {
	.max_bytes = 4096, .max_depth = 4, .max_values = 64,
	.max_members = 8, .max_string = 32,
};

/* refused - in must fail with an error containing want */
static void
refused(const char *in, const char *want)
{
	char	 err[256];
	struct json *j = json_parse(in, strlen(in), &lim, err, sizeof(err));

	T_OK(j == NULL && strstr(err, want) != NULL,
	    "refused %s: expected '%s', saw '%s'", in, want,
	    j ? "(accepted)" : err);
	json_free(j);
}

int
main(void)
{
	static const struct {
		const char *in, *want;
	} bad[] = {
		{ "", "line 1: unexpected end" },
		{ "{\"a\":1,}", "expected a member name" },
		{ "[1,]", "not a JSON value" },
		{ "{\"a\":1,\"a\":2}", "duplicate member 'a'" },
		{ "-1", "negative" },
		{ "1.5", "whole numbers" },
		{ "1e3", "whole numbers" },
		{ "01", "leading zero" },
		{ "18446744073709551616", "too large" },
		{ "\"a\\u0000b\"", "NUL" },
		{ "\"\\ud800\"", "lone surrogate" },
		{ "\"\\udc00\"", "lone surrogate" },
		{ "\"\xc0\xaf\"", "invalid UTF-8" },
		{ "\"\xed\xa0\x80\"", "invalid UTF-8" },
		{ "\"a\tb\"", "control character" },
		{ "\"\\x\"", "bad escape" },
		{ "\"abc", "unterminated string" },
		{ "[[[[[1]]]]]", "nested deeper than 4" },
		{ "\"0123456789012345678901234567890123\"", "longer than 32" },
		{ "{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6,\"g\":7,"
		    "\"h\":8,\"i\":9}", "more than 8 members" },
		{ "1 2", "text after" },
		{ "// c\n1", "not a JSON value" },
		{ "tru", "not a JSON value" },
		{ "[\n1,\n2\n", "line 4: unterminated array" },
	};
	const struct json *m;
	struct json *j;
	char	 err[256], big[300];
	const char *in;
	size_t	 i;

	in = " {\"name\":\"shop\",\"n\":[1,18446744073709551615],"
	    "\"t\":true,\"f\":false,\"z\":null,\n\"s\":\"\\u00e9\\ud83d\\ude00"
	    "\\n\\\"/\\/\"} ";
	j = json_parse(in, strlen(in), &lim, err, sizeof(err));
	T_OK(j != NULL, "a document with every kind of value: %s", err);
	if (j != NULL) {
		T_EQ_U(j->type, JSON_OBJECT, "root type");
		T_EQ_U(j->n, 6, "members");
		T_EQ_S(json_member(j, "name")->str, "shop", "string member");
		m = json_member(j, "n");
		T_EQ_U(m->n, 2, "array length");
		T_EQ_U(m->child->next->num, UINT64_MAX, "largest number");
		T_EQ_U(json_member(j, "t")->type, JSON_TRUE, "true");
		T_EQ_U(json_member(j, "f")->type, JSON_FALSE, "false");
		T_EQ_U(json_member(j, "z")->type, JSON_NULL, "null");
		m = json_member(j, "s");
		T_EQ_S(m->str, "\xc3\xa9\xf0\x9f\x98\x80\n\"//", "escapes");
		T_EQ_U(m->line, 2, "the line a value starts on");
		T_OK(json_member(j, "missing") == NULL, "absent member");
		T_OK(json_member(m, "x") == NULL, "member of a non-object");
		json_free(j);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		refused(bad[i].in, bad[i].want);

	/* the byte and value limits */
	memset(big, ' ', sizeof(big));
	j = json_parse(big, 4097, &lim, err, sizeof(err));
	T_OK(j == NULL && strstr(err, "larger than 4096") != NULL,
	    "over max_bytes: %s", err);
	in = "[[1,2,3,4,5,6,7,8],[1,2,3,4,5,6,7,8],[1,2,3,4,5,6,7,8],"
	    "[1,2,3,4,5,6,7,8],[1,2,3,4,5,6,7,8],[1,2,3,4,5,6,7,8],"
	    "[1,2,3,4,5,6,7,8],[1,2,3,4,5,6,7,8]]";
	j = json_parse(in, strlen(in), &lim, err, sizeof(err));
	T_OK(j == NULL && strstr(err, "more than 64 values") != NULL,
	    "over max_values: %s", err);
	/* the input need not be terminated */
	j = json_parse("[1]xyz", 3, &lim, err, sizeof(err));
	T_OK(j != NULL && j->n == 1, "length, not NUL, ends the input");
	json_free(j);
	json_free(NULL);
	return t_done();
}
