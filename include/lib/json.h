/*
 * json - a small, strict, bounded JSON reader for documents mailgov reads
 * back (the account export).  It builds a tree of values; every limit
 * (bytes, depth, values, string length) is the caller's, and a document
 * past one is refused, never truncated.
 *
 * Strict on purpose: UTF-8 only (no NUL, no lone surrogates, no overlong
 * forms), no duplicate member names, no trailing commas, no comments, and
 * numbers only as non-negative integers below 2^64 (no sign, fraction or
 * exponent): the format it serves has no other kind.
 *
 * Trusts: nothing in the input.
 */
#ifndef MAILGOV_JSON_H
#define MAILGOV_JSON_H

#include <stddef.h>
#include <stdint.h>

enum json_type {
	JSON_NULL, JSON_FALSE, JSON_TRUE, JSON_NUMBER, JSON_STRING,
	JSON_ARRAY, JSON_OBJECT
};

struct json {
	enum json_type	 type;
	const char	*key;		/* member name inside an object */
	const char	*str;		/* JSON_STRING: decoded, NUL-free */
	uint64_t	 num;		/* JSON_NUMBER */
	size_t		 n;		/* members or elements */
	struct json	*child, *next;	/* first member; next sibling */
	unsigned	 line;		/* where the value starts, 1-based */
};

struct json_limits {
	size_t		 max_bytes;
	unsigned	 max_depth;	/* nesting of arrays and objects */
	size_t		 max_values;
	size_t		 max_members;	/* of one object: names are checked
					 * for duplicates one by one */
	size_t		 max_string;	/* decoded bytes of one string */
};

/*
 * json_parse - buf[0..len) as one JSON value (white space around it
 * allowed).  Returns the root, or NULL with a one-line err naming the
 * line ("line 3: duplicate member 'name'").  Free with json_free().
 */
struct json *json_parse(const char *buf, size_t len,
	    const struct json_limits *, char *err, size_t errlen);
void	json_free(struct json *);

/* json_member - the member key of object o, or NULL */
const struct json *json_member(const struct json *o, const char *key);
/* json_type_name - "a string", "an object", ... for error lines */
const char *json_type_name(enum json_type);

#endif
