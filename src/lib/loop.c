/*
 * loop - mailgovd's single-threaded epoll loop.  One registration per fd,
 * {fd, callback, data}; after each batch of events the turn-end hooks run
 * (group commit, then deferred answers).  A callback may delete any
 * registration, its own included, at any time: deleted registrations are
 * only freed once the batch that might still name them is over.
 *
 * Trusts its callers (all inside mailgovd); nothing here reads input.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"

#define LOOP_BATCH	64	/* events taken per epoll_wait */
#define LOOP_HOOKS	16	/* turn-end hooks; mailgovd needs a few */

struct reg {
	int		 fd;		/* -1 once deleted */
	loop_cb		 cb;
	void		*arg;
	struct reg	*next_dead;
};

struct hook {
	void		(*fn)(void *);
	void		*arg;
};

struct loop {
	int		 ep;
	int		 stop;
	struct reg	**byfd;		/* registration of each fd, or NULL */
	size_t		 nbyfd;
	struct reg	*dead;		/* deleted during this batch */
	struct hook	 hooks[LOOP_HOOKS];
	size_t		 nhooks;
};

/* loop_new - an empty loop; NULL if epoll cannot be created */
struct loop *
loop_new(void)
{
	struct loop *l;

	if ((l = calloc(1, sizeof(*l))) == NULL) {
		log_warn("loop_new");
		return NULL;
	}
	if ((l->ep = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		log_warn("epoll_create1");
		free(l);
		return NULL;
	}
	return l;
}

/* reap - free what was deleted during the last batch */
static void
reap(struct loop *l)
{
	struct reg *r;

	while ((r = l->dead) != NULL) {
		l->dead = r->next_dead;
		free(r);
	}
}

/* loop_free - drop every registration (the fds stay open: not ours) */
void
loop_free(struct loop *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->nbyfd; i++)
		free(l->byfd[i]);
	reap(l);
	free(l->byfd);
	close(l->ep);
	free(l);
}

/* loop_add - watch fd for events, calling cb(fd, events, arg) */
int
loop_add(struct loop *l, int fd, uint32_t events, loop_cb cb, void *arg)
{
	struct epoll_event ev;
	struct reg *r, **nb;
	size_t n;

	if (fd < 0 || cb == NULL) {
		errno = EINVAL;
		return -1;
	}
	if ((size_t)fd >= l->nbyfd) {
		n = l->nbyfd ? l->nbyfd : 64;
		while (n <= (size_t)fd)
			n *= 2;
		if ((nb = realloc(l->byfd, n * sizeof(*nb))) == NULL)
			return -1;
		memset(nb + l->nbyfd, 0, (n - l->nbyfd) * sizeof(*nb));
		l->byfd = nb;
		l->nbyfd = n;
	}
	if (l->byfd[fd] != NULL) {
		errno = EEXIST;
		return -1;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return -1;
	r->fd = fd;
	r->cb = cb;
	r->arg = arg;
	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = r;
	if (epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev) == -1) {
		free(r);
		return -1;
	}
	l->byfd[fd] = r;
	return 0;
}

/* loop_mod - change the events watched on fd */
int
loop_mod(struct loop *l, int fd, uint32_t events)
{
	struct epoll_event ev;

	if (fd < 0 || (size_t)fd >= l->nbyfd || l->byfd[fd] == NULL) {
		errno = ENOENT;
		return -1;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = l->byfd[fd];
	return epoll_ctl(l->ep, EPOLL_CTL_MOD, fd, &ev);
}

/* loop_del - stop watching fd; safe from inside any callback */
void
loop_del(struct loop *l, int fd)
{
	struct reg *r;

	if (fd < 0 || (size_t)fd >= l->nbyfd || (r = l->byfd[fd]) == NULL)
		return;
	/* Before the caller closes fd; a closed fd would leave epoll alone. */
	(void)epoll_ctl(l->ep, EPOLL_CTL_DEL, fd, NULL);
	l->byfd[fd] = NULL;
	r->fd = -1;
	r->next_dead = l->dead;
	l->dead = r;
}

/* loop_on_turn - run fn(arg) after every batch of events */
int
loop_on_turn(struct loop *l, void (*fn)(void *), void *arg)
{
	if (l->nhooks == LOOP_HOOKS) {
		errno = ENOSPC;
		return -1;
	}
	l->hooks[l->nhooks].fn = fn;
	l->hooks[l->nhooks].arg = arg;
	l->nhooks++;
	return 0;
}

/* loop_off_turn - forget fn(arg), for an owner that goes away before
 * the loop does */
void
loop_off_turn(struct loop *l, void (*fn)(void *), void *arg)
{
	size_t i;

	for (i = 0; i < l->nhooks; i++) {
		if (l->hooks[i].fn != fn || l->hooks[i].arg != arg)
			continue;
		memmove(&l->hooks[i], &l->hooks[i + 1],
		    (l->nhooks - i - 1) * sizeof(l->hooks[0]));
		l->nhooks--;
		return;
	}
}

/* loop_run - dispatch events until loop_stop() */
int
loop_run(struct loop *l)
{
	struct epoll_event evs[LOOP_BATCH];
	struct reg *r;
	size_t i;
	int n, k;

	l->stop = 0;
	while (!l->stop) {
		n = epoll_wait(l->ep, evs, LOOP_BATCH, -1);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			log_warn("epoll_wait");
			return -1;
		}
		for (k = 0; k < n; k++) {
			r = evs[k].data.ptr;
			/* deleted by an earlier callback of this batch */
			if (r->fd == -1)
				continue;
			r->cb(r->fd, evs[k].events, r->arg);
		}
		for (i = 0; i < l->nhooks; i++)
			l->hooks[i].fn(l->hooks[i].arg);
		reap(l);
	}
	return 0;
}

/* loop_stop - make loop_run return after the current batch */
void
loop_stop(struct loop *l)
{
	l->stop = 1;
}
