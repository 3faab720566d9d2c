/*
 * utf8 - the one check of a UTF-8 sequence, for every writer that keeps
 * valid UTF-8 and replaces the rest (JSON out of mailgovctl, the JSON
 * reader of account import).
 *
 * Trusts: nothing; a pure function.
 */
#ifndef MAILGOV_UTF8_H
#define MAILGOV_UTF8_H

#include <stddef.h>

/*
 * utf8_seq - the length (2 to 4) of the valid multi-byte sequence at p,
 * which may not run past end; 0 for an ASCII byte, a stray continuation
 * byte, a cut sequence, an overlong form, a surrogate or a value past
 * U+10FFFF.  A NUL is never a continuation byte, so a NUL-terminated
 * string may pass p + 4 as end.
 */
size_t	utf8_seq(const unsigned char *p, const unsigned char *end);

#endif
