/*
 * rules - render the netfilter rules mailgov ships (rules/iptables.in,
 * rules/nftables.in) from the configuration and the accounts' explicit
 * connection caps.  Pure: the caller reads the template and passes its
 * text; nothing here runs a tool or touches the kernel (src/ctl/rules.c
 * loads what is rendered here).
 *
 * Template language, so that an admin can read the templates as rules:
 *   - a line starting with "##" is a note for the reader, never loaded;
 *   - @NAME@ is a value (@QUEUE_PORT@, @SMTP_PORTS@, ...);
 *   - @LIST.FIELD@ is a field of a list (@WEB.ID@, @CAP.LIMIT@, ...):
 *     the line is repeated once per item of each list it names;
 *   - @NEVER.UID@ is a UID that is never a web user (rules_opts.never),
 *     for iptables when there are web groups: nothing otherwise;
 *   - @CLOSED.PORTS@ is the ports closed to web users (rules_closed_ports)
 *     as one list item for nft, and in items of at most 15 ports for
 *     iptables' multiport match;
 *   - a web group (@WEB.KIND@ "gid") must match its supplementary members
 *     too: for iptables its @WEB.ID@ carries the owner match's option
 *     ("33 --suppl-groups"); for nft the members come as one more "uid"
 *     item, a set of their UIDs ("{ 1001, 1005-1007 }");
 *   - a line whose value is empty, or whose list has no item, is left
 *     out (no TLS port: no 465 rules; no explicit cap: no cap rules);
 *   - "@if NAME@", "@else@" and "@endif@" on a line of their own keep or
 *     drop the lines between them (NAME is true when not empty).
 * Anything else, including nft's "@set" references, is copied as is.
 *
 * Trusts: the configuration (already checked by config_load) and the
 * template (installed by the admin); an unknown placeholder or an
 * unbalanced @if is an error naming the template line.
 */
#ifndef MAILGOV_RULES_H
#define MAILGOV_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* What a template renders into. */
enum rules_target {
	RULES_IPV4 = 0,	/* iptables-restore --noflush input (iptables.in) */
	RULES_IPV6,	/* ip6tables-restore --noflush input (iptables.in) */
	RULES_NFT,	/* nft -f input (nftables.in) */
};

/* The template file of each target, relative to cfg->rules_dir */
#define RULES_IPTABLES_IN	"iptables.in"
#define RULES_NFTABLES_IN	"nftables.in"

/* The names of mailgov's own objects in the kernel. */
#define RULES_CHAIN		"MAILGOV"	/* in mangle, nat and filter */
#define RULES_COMMENT		"mailgov"	/* on the jumps from OUTPUT */
#define RULES_NFT_TABLE		"mailgov"	/* table inet mailgov */

/* One explicit connection cap: an account's UID range or GID. */
struct rules_cap {
	char		account[64];
	int		is_gid;
	uint32_t	lo, hi;		/* the GID in lo == hi */
	uint64_t	limit;		/* concurrent connections */
};

struct rules_caps {
	struct rules_cap *v;
	size_t		n, size;
};

#define RULES_LEAF_UIDS	4	/* UIDs in one chain of the UID tree */
#define RULES_UIDS_MAX	4096	/* web users in it at most */
#define RULES_UCHAIN	"MAILGOV_U"	/* its chains: MAILGOV_U0, ... */

struct rules_opts {
	const struct rules_caps	*caps;		/* NULL: no explicit caps */
	int		nft_queue;	/* the kernel has nft's queue expression */
	/*
	 * nftables: the web groups' members outside web_uids
	 * (config_web_group_members), matched by UID, since nft's skgid
	 * sees only a socket's own group and not its supplementary ones.
	 * iptables needs none: its owner match takes --suppl-groups.
	 */
	const struct uid_range *members;
	size_t		n_members;
	/*
	 * Ports on which Postfix takes mail besides those web users are
	 * redirected from or to (ctl_postfix_listeners: a content filter's
	 * reinjection listener, say).  They are closed to web users with
	 * the others of rules_closed_ports.  NULL: none.
	 */
	const uint16_t	*closed;
	size_t		n_closed;
	/*
	 * iptables, with web groups: the UIDs that are never web users even
	 * when a web group lists them (root, mailgov's user, Postfix's), as
	 * @NEVER.UID@.  --suppl-groups would match them: Postfix's daemons
	 * take the postfix user's supplementary groups (initgroups), and
	 * their connections to the policy and relay ports must pass.
	 */
	const uint32_t	*never;
	size_t		n_never;
	/*
	 * syn_rate, per web UID, before the queue.  nft keys a dynamic set
	 * by UID.  iptables' owner, limit and connlimit matches keep one
	 * state per rule, so for iptables the web users the passwd and
	 * group databases know (uids: sorted, each once) get a rule each,
	 * found through a tree of chains over UID ranges: @UTREE@ (its
	 * root, "" without uids), @UCHAIN.NAME@ (every chain of it),
	 * @UNODE.CHAIN@ @UNODE.IDS@ @UNODE.NEXT@ (a range and the chain it
	 * leads to), @ULEAF.CHAIN@ @ULEAF.ID@ (one UID's rules).  The same
	 * tree carries iptables' default `connections` cap per UID.
	 * norate: the accounts whose new_connections is unlimited,
	 * which syn_rate leaves alone (@NORATE.KIND@ @NORATE.ID@).
	 * syn_rate_off: no @SYN_RATE@ (the nftables backend's own table
	 * limits the rate; its iptables queue step must not).
	 */
	const uint32_t	*uids;
	size_t		n_uids;
	const struct rules_caps	*norate;
	int		syn_rate_off;
};

/* Room rules_closed_ports may need for n extra ports */
#define RULES_CLOSED_MAX(n)	((n) + 2 + CONFIG_MAX_PORTS)

/*
 * rules_closed_ports - the local ports a web user may not connect to:
 * relay_port, the port of policy_tcp, closed_ports and extra[0..n), but
 * for those the rules redirect web users from (smtp_ports) or to
 * (queue_port), which they are meant to reach.  Sorted, once each, into
 * out (room for max).  Returns how many.
 */
size_t	rules_closed_ports(const struct config *, const uint16_t *extra,
	    size_t n, uint16_t *out, size_t max);

/* rules_policy_port - the port of policy_tcp, 0 when it is disabled */
uint16_t rules_policy_port(const struct config *);

/*
 * rules_caps_add_uids - the cap of account name over UIDs lo..hi, clipped
 * to the web UID ranges (mailgov's rules never match any other UID); may
 * add several items, or none.  Returns 0, or -1 when out of memory.
 */
int	rules_caps_add_uids(struct rules_caps *, const struct config *,
	    const char *account, uint32_t lo, uint32_t hi, uint64_t limit);
/* rules_caps_add_gid - the cap over GID gid if it is a web group */
int	rules_caps_add_gid(struct rules_caps *, const struct config *,
	    const char *account, uint32_t gid, uint64_t limit);
void	rules_caps_free(struct rules_caps *);

/*
 * rules_render - render template text tmpl (len bytes; name is used in
 * error messages, "iptables.in") for target.  Returns the text
 * (malloc'd, NUL-terminated, ending in a newline), or NULL with a one-line
 * message in err ("iptables.in:12: unknown placeholder @FOO@").
 */
char	*rules_render(const char *tmpl, size_t len, const char *name,
	    const struct config *, enum rules_target, const struct rules_opts *,
	    char *err, size_t errlen);

/*
 * rules_render_file - the same, reading rules_dir/rules_template(target);
 * a template that cannot be read is an error naming its path.
 */
char	*rules_render_file(const struct config *, enum rules_target,
	    const struct rules_opts *, char *err, size_t errlen);

/* rules_template - the template file name of target */
const char *rules_template(enum rules_target);

/*
 * rules_section - the "*table ... COMMIT" block of table in rendered
 * iptables-restore text, with the lines before the first table (comments)
 * kept; malloc'd, or NULL when the text has no such table or on ENOMEM.
 */
char	*rules_section(const char *text, const char *table);

#endif
