/*
 * loop - mailgovd's single-threaded epoll loop.  Each registration is
 * {fd, callback, data}; callbacks never block.  After every batch of
 * events the turn-end hooks run: that is where the policy server commits
 * its group of counts and then sends the answers it was holding back.
 */
#ifndef MAILGOV_LOOP_H
#define MAILGOV_LOOP_H

#include <stdint.h>

struct loop;
typedef void (*loop_cb)(int fd, uint32_t events, void *arg);

struct loop *loop_new(void);
void	loop_free(struct loop *);
/* loop_add / loop_mod - events are EPOLLIN/EPOLLOUT/...; -1 on error */
int	loop_add(struct loop *, int fd, uint32_t events, loop_cb, void *arg);
int	loop_mod(struct loop *, int fd, uint32_t events);
void	loop_del(struct loop *, int fd);
/* loop_on_turn - call fn(arg) once after each batch of events */
int	loop_on_turn(struct loop *, void (*fn)(void *), void *arg);
void	loop_off_turn(struct loop *, void (*fn)(void *), void *arg);
/* loop_run - until loop_stop; returns 0, or -1 if epoll itself failed */
int	loop_run(struct loop *);
void	loop_stop(struct loop *);

#endif
