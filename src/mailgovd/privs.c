/*
 * privs - capabilities and identity of mailgovd (see privs.h), through
 * libcap-ng.
 *
 * Trusts: the configured user name (from root's config file) and the
 * database path; nothing from the network reaches this module.
 */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cap-ng.h>

#include "log.h"
#include "privs.h"

/* privs_have_net_admin - CAP_NET_ADMIN effective right now */
int
privs_have_net_admin(void)
{
	if (capng_get_caps_process() != 0)
		return 0;
	return capng_have_capability(CAPNG_EFFECTIVE, CAP_NET_ADMIN);
}

/* privs_user - look the daemon's user up */
int
privs_user(const char *user, uid_t *uid, gid_t *gid, char *err,
    size_t errlen)
{
	struct passwd *pw;

	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		snprintf(err, errlen, "user %s: %s", user,
		    errno ? strerror(errno) : "no such user");
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

/* own - chown path to uid:gid if it exists and root owns it */
static void
own(const char *path, uid_t uid, gid_t gid)
{
	struct stat sb;

	if (lstat(path, &sb) == -1 || sb.st_uid != 0 || S_ISLNK(sb.st_mode))
		return;
	if (chown(path, uid, gid) == -1)
		log_warn("chown %s", path);
	else
		log_debug("gave %s to uid %u gid %u", path, (unsigned)uid,
		    (unsigned)gid);
}

/* dedicated - does dir hold only base and base-side files?  Only then is
 * it ours to hand over: a shared /var/lib must never change owner. */
static int
dedicated(const char *dir, const char *base)
{
	struct dirent *de;
	size_t n = strlen(base);
	int ok = 1;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (strncmp(de->d_name, base, n) != 0) {
			ok = 0;
			break;
		}
	}
	closedir(d);
	return ok;
}

/* privs_own_db - the database, its side files and dedicated directory */
void
privs_own_db(const char *db, uid_t uid, gid_t gid)
{
	static const char *side[] = { "", "-wal", "-shm", "-journal", "-redo" };
	char path[PATH_MAX], dir[PATH_MAX];
	const char *slash, *base;
	size_t i;

	for (i = 0; i < sizeof(side) / sizeof(side[0]); i++) {
		if (snprintf(path, sizeof(path), "%s%s", db, side[i]) >=
		    (int)sizeof(path))
			return;
		own(path, uid, gid);
	}
	if ((slash = strrchr(db, '/')) == NULL) {
		snprintf(dir, sizeof(dir), ".");
		base = db;
	} else {
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - db), db);
		if (dir[0] == '\0')
			return;		/* never the root directory */
		base = slash + 1;
	}
	if (dedicated(dir, base))
		own(dir, uid, gid);
	else if (access(dir, F_OK) == 0)
		log_debug("%s holds other files: its owner is left alone; "
		    "SQLite side files must stay writable by uid %u", dir,
		    (unsigned)uid);
}

/* privs_drop - become uid:gid with CAP_NET_ADMIN only */
int
privs_drop(uid_t uid, gid_t gid, char *err, size_t errlen)
{
	int r;

	capng_clear(CAPNG_SELECT_BOTH);
	if (capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED,
	    CAP_NET_ADMIN) != 0) {
		snprintf(err, errlen, "capng_update failed");
		return -1;
	}
	if (geteuid() == 0 && uid != 0) {
		r = capng_change_id((int)uid, (int)gid,
		    CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING);
		if (r != 0) {
			snprintf(err, errlen, "cannot become uid %u gid %u "
			    "keeping CAP_NET_ADMIN (capng_change_id %d): %s",
			    (unsigned)uid, (unsigned)gid, r, strerror(errno));
			return -1;
		}
	} else if (capng_apply(CAPNG_SELECT_BOTH) != 0) {
		snprintf(err, errlen, "cannot drop capabilities: %s",
		    strerror(errno));
		return -1;
	}
	/* Nothing we exec from here on may gain privileges. */
	(void)prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	if (!privs_have_net_admin()) {
		snprintf(err, errlen, "CAP_NET_ADMIN lost while dropping "
		    "privileges");
		return -1;
	}
	return 0;
}
