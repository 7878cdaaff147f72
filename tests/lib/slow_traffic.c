/* slow_traffic: see slow_traffic.h. */
#include "slow_traffic.h"

#include <stdint.h>
#include <stdlib.h>

#include "clock.h"
#include "harness.h"
#include "wire.h"
#include "wire_client.h"

void *slow_traffic_main(void *arg)
{
	struct slow_traffic *t = arg;
	struct wc_client *cl = NULL;
	uint64_t seq = 0;
	char err[256];

	while (!atomic_load(&t->stop)) {
		if (!cl && wc_open(&cl, t->url, NULL, 1.0, err, sizeof(err)) != 0)
			cl = NULL;
		if (cl) {
			struct wc_batch wb;
			struct wire_reply r;
			double lat[10];
			uint8_t *buf = NULL;
			size_t len;
			for (int i = 0; i < 10; i++)
				lat[i] = 300.0 + 20.0 * i;
			wc_batch_init(&wb, t->agent[0] ? t->agent : "ha-test", ++seq, NULL);
			wc_batch_summary(&wb, "fraud", (int64_t)clock_now(), 10, 0, 0, lat, 10);
			if (wc_batch_encode(&wb, &buf, &len) == 0 &&
			    wc_request(cl, buf, len, &r, err, sizeof(err)) == 0 &&
			    r.status == WIRE_OK)
				atomic_fetch_add(&t->sent, 1);
			free(buf);
			wc_batch_free(&wb);
		}
		h_sleep(0.1);
	}
	wc_close(cl);
	return NULL;
}
