/*
 * privs - mailgovd's privileges: refuse to start without CAP_NET_ADMIN,
 * hand the database to the daemon's user, then become that user keeping
 * only CAP_NET_ADMIN (the kernel checks it on every NFQUEUE verdict).
 * Everything that needs root is set up before privs_drop().
 */
#ifndef MAILGOV_PRIVS_H
#define MAILGOV_PRIVS_H

#include <stddef.h>
#include <sys/types.h>

/* privs_have_net_admin - is CAP_NET_ADMIN in our effective set */
int	privs_have_net_admin(void);

/* privs_user - uid and gid of user; -1 with err filled if unknown */
int	privs_user(const char *user, uid_t *, gid_t *, char *err,
	    size_t errlen);

/*
 * privs_own_db - give db, its -wal, -shm, -journal and -redo files, and its
 * directory when it holds nothing else, to uid:gid if root owns them, so
 * SQLite can still write (and recreate its side files) after the drop.
 */
void	privs_own_db(const char *db, uid_t, gid_t);

/*
 * privs_drop - become uid:gid (no supplementary groups, bounding set
 * cleared) with CAP_NET_ADMIN as the only capability, effective and
 * permitted.  Not root already: only the capabilities are dropped.
 * Returns -1 with err filled on failure.
 */
int	privs_drop(uid_t, gid_t, char *err, size_t errlen);

#endif
