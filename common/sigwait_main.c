/* sigwait_main: see sigwait_main.h. */
#include "sigwait_main.h"

#include <pthread.h>
#include <string.h>

static pthread_t waiter;

/* Runs only on a thread that does not block the signal (the waiter
 * blocks it, so sigwait takes it there without this handler). */
static void pass_to_waiter(int sig)
{
	if (!pthread_equal(pthread_self(), waiter))
		pthread_kill(waiter, sig); /* pending on the waiter until sigwait */
}

void sigwait_main_setup(sigset_t *set)
{
	struct sigaction sa;

	waiter = pthread_self();
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	pthread_sigmask(SIG_BLOCK, set, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = pass_to_waiter;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}
