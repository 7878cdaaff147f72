/* slow_traffic: a thread that sends per-second latency summaries of 10
 * slow requests (p99 about 480 ms, model "fraud") every 100 ms to one
 * collector over the wire, the way an agent would, for the HA tests that
 * need a p99 breach to page on (test_ha, test_pg_ha).
 *
 * Threads: slow_traffic_main runs on its own thread (pthread_create with a
 * struct slow_traffic); set stop and join it. sent counts acknowledged
 * batches. Failures: a collector away is retried every 100 ms (nng redials);
 * nothing is reported but the count. */
#ifndef MLW_TEST_SLOW_TRAFFIC_H
#define MLW_TEST_SLOW_TRAFFIC_H

#include <pthread.h>
#include <stdatomic.h>

struct slow_traffic {
	pthread_t th;
	char url[600];  /* tcp://127.0.0.1:PORT of the collector */
	char agent[32]; /* the agent id of the batches; "" = "ha-test" */
	atomic_bool stop;
	atomic_uint_fast64_t sent;
};

void *slow_traffic_main(void *arg);

#endif
