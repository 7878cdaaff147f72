/* sigwait_main: a SIGTERM delivered to a thread that a library started
 * before main() blocked the signals (as libopenblas's constructor does)
 * reaches the main thread's sigwait instead of killing the process. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "sigwait_main.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int done;

/* Like a BLAS worker: started with the signals unblocked, idle. */
static void *idle_worker(void *arg)
{
	pthread_mutex_lock(&mu);
	while (!done)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	return arg;
}

Test(sigwait_main, a_signal_landing_on_a_library_thread_reaches_sigwait)
{
	pthread_t th;
	sigset_t set;
	struct timespec limit = {.tv_sec = 5};

	cr_assert_eq(pthread_create(&th, NULL, idle_worker, NULL), 0);
	sigwait_main_setup(&set);
	for (int i = 0; i < 20; i++) {
		/* the main thread blocks it, so the kernel hands it to the worker */
		cr_assert_eq(kill(getpid(), i % 2 ? SIGINT : SIGTERM), 0);
		int sig = sigtimedwait(&set, NULL, &limit);
		cr_assert_eq(sig, i % 2 ? SIGINT : SIGTERM, "round %d: %d", i, sig);
	}
	pthread_mutex_lock(&mu);
	done = 1;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
	pthread_join(th, NULL);
}
