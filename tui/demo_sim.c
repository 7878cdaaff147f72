/* demo_sim: see demo_sim.h. */
#include "demo_sim.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void demo_schedule_default(struct demo_schedule *s)
{
	s->accuracy_drop_at = 3;
	s->shift_from = 8;
	s->shift_full = 28;
	s->new_category_at = 12;
	s->spike_from = 18;
	s->spike_to = 45;
}

void demo_schedule_none(struct demo_schedule *s)
{
	s->accuracy_drop_at = s->shift_from = s->shift_full = s->new_category_at = 1e18;
	s->spike_from = s->spike_to = 1e18;
}

void demo_sim_init(struct demo_sim *s, uint64_t seed, const struct demo_schedule *sched)
{
	s->rng = seed ? seed : 0x9e3779b97f4a7c15ull;
	s->next_id = 1;
	s->sched = *sched;
}

static uint64_t next(struct demo_sim *s)
{
	/* splitmix64: small, fast, and good enough for a simulation */
	uint64_t z = (s->rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double unif(struct demo_sim *s)
{
	return ((double)(next(s) >> 11) + 0.5) / 9007199254740992.0;
}

static double normal(struct demo_sim *s)
{
	return sqrt(-2 * log(unif(s))) * cos(2 * M_PI * unif(s));
}

static const char *pick(struct demo_sim *s, const char *const *names, const double *weights, int n)
{
	double u = unif(s), acc = 0;
	for (int i = 0; i < n; i++) {
		acc += weights[i];
		if (u < acc)
			return names[i];
	}
	return names[n - 1];
}

static double sigmoid(double x)
{
	return 1 / (1 + exp(-x));
}

static double clampd(double v, double lo, double hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

int demo_sim_event(struct demo_sim *s, double t, double ts, char *buf, size_t cap,
                   struct demo_truth *truth)
{
	static const char *const merchants[] = {"grocery",    "electronics", "travel",   "fuel",
	                                        "restaurant", "online",      "pharmacy", "crypto"};
	static const double merchant_w[] = {0.3, 0.1, 0.08, 0.15, 0.17, 0.14, 0.06, 0};
	static const double merchant_w_new[] = {0.22, 0.08, 0.06, 0.11, 0.13, 0.1, 0.05, 0.25};
	static const char *const countries[] = {"DE", "FR", "NL", "IT", "ES", "US"};
	static const double country_w[] = {0.4, 0.2, 0.1, 0.1, 0.1, 0.1};
	static const char *const devices[] = {"ios", "android", "web"};
	static const double device_w[] = {0.45, 0.4, 0.15};
	static const char *const channels[] = {"pos", "ecom", "atm"};
	static const double channel_w[] = {0.55, 0.35, 0.1};
	const struct demo_schedule *sc = &s->sched;
	double shift = 0;

	if (t >= sc->shift_from)
		shift = sc->shift_full > sc->shift_from
		            ? clampd((t - sc->shift_from) / (sc->shift_full - sc->shift_from), 0, 1)
		            : 1;
	double amount = exp(3.5 + 1.2 * shift + 0.9 * normal(s));
	double age = clampd(40 + 12 * normal(s), 18, 90);
	double account_age = -700 * log(unif(s));
	double distance = exp(1.5 + 1.5 * shift + 1.1 * normal(s));
	double txn_per_day = clampd(3 + 1.5 * normal(s), 0, 40);
	double hour = floor(clampd(14 + 5 * normal(s), 0, 23));
	double velocity = -1.2 * log(unif(s));
	const char *merchant =
	    pick(s, merchants, t >= sc->new_category_at ? merchant_w_new : merchant_w, 8);
	const char *country = pick(s, countries, country_w, 6);
	const char *device = pick(s, devices, device_w, 3);
	const char *channel = pick(s, channels, channel_w, 3);
	int new_device = unif(s) < 0.08;
	/* the protected attribute of the fairness panel (fairness_by), from
	 * age: no draw of its own, so the rest of the stream is unchanged */
	const char *age_band = age < 35 ? "18-34" : age < 55 ? "35-54" : "55+";

	/* The model's (calibrated) belief, and the world's truth. */
	double logit =
	    -3.2 + 0.9 * (log(amount) - 3.5) + 0.8 * (distance > 50) + 1.6 * new_device +
	    0.9 * (velocity > 3) - 0.6 * (account_age > 365) +
	    0.8 * (strcmp(merchant, "electronics") == 0 || strcmp(merchant, "travel") == 0) +
	    0.5 * (strcmp(channel, "ecom") == 0);
	double p_model = sigmoid(logit);
	double p_true = p_model;
	if (t >= sc->accuracy_drop_at && strcmp(channel, "ecom") == 0)
		p_true = sigmoid(logit + 3.5); /* a new fraud pattern the model has not learned */
	int predicted = p_model >= 0.5;
	int label = unif(s) < p_true;
	double confidence = predicted ? p_model : 1 - p_model;

	double latency = exp(log(12) + 0.35 * normal(s));
	if (t >= sc->spike_from && t < sc->spike_to)
		latency *= 25;

	snprintf(truth->id, sizeof(truth->id), "req-%llu", (unsigned long long)s->next_id++);
	truth->label_fraud = label;
	truth->predicted_fraud = predicted;
	truth->confidence = confidence;
	truth->latency_ms = latency;
	truth->amount = amount;
	truth->distance_km = distance;
	truth->merchant_type = merchant;

	int n = snprintf(
	    buf, cap,
	    "{\"model\":\"" DEMO_MODEL "\",\"version\":\"v3\",\"id\":\"%s\",\"ts\":%.3f,"
	    "\"latency_ms\":%.3f,\"error\":%s,\"features\":{\"amount\":%.2f,\"age\":%.0f,"
	    "\"account_age_days\":%.0f,\"distance_km\":%.3f,\"txn_per_day\":%.2f,"
	    "\"hour\":%.0f,\"velocity_1h\":%.3f,\"merchant_type\":\"%s\","
	    "\"country\":\"%s\",\"device\":\"%s\",\"channel\":\"%s\","
	    "\"is_new_device\":%s,\"age_band\":\"%s\"},\"prediction\":\"%s\","
	    "\"score\":%.4f}",
	    truth->id, ts, latency, unif(s) < 0.002 ? "true" : "false", amount, age, account_age,
	    distance, txn_per_day, hour, velocity, merchant, country, device, channel,
	    new_device ? "true" : "false", age_band, predicted ? "fraud" : "legit", confidence);
	return n < 0 || (size_t)n >= cap ? -1 : n;
}

int demo_sim_label(const struct demo_truth *truth, double ts, char *buf, size_t cap)
{
	int n = snprintf(
	    buf, cap, "{\"model\":\"" DEMO_MODEL "\",\"id\":\"%s\",\"label\":\"%s\",\"ts\":%.3f}",
	    truth->id, truth->label_fraud ? "fraud" : "legit", ts);
	return n < 0 || (size_t)n >= cap ? -1 : n;
}

int demo_sim_reference_csv(uint64_t seed, size_t n, const char *path)
{
	struct demo_sim s;
	struct demo_schedule none;
	struct demo_truth tr;
	char ev[1024];
	FILE *f = fopen(path, "w");
	int rc = -1;

	if (!f)
		return -1;
	demo_schedule_none(&none);
	demo_sim_init(&s, seed, &none);
	fprintf(
	    f,
	    "id,amount,age,account_age_days,distance_km,txn_per_day,hour,velocity_1h,"
	    "merchant_type,country,device,channel,is_new_device,age_band,prediction,score,label\n");
	for (size_t i = 0; i < n; i++) {
		if (demo_sim_event(&s, 0, 0, ev, sizeof(ev), &tr) < 0)
			goto out;
		/* Re-read the generated values from the JSON so the CSV and the
		 * live events come from one code path. */
		double age, acct, txn, hour, vel;
		char country[8], device[16], channel[8], newdev[8], band[8];
		const char *fs = strstr(ev, "\"age\":");
		if (!fs || sscanf(fs,
		                  "\"age\":%lf,\"account_age_days\":%lf,\"distance_km\":%*f,"
		                  "\"txn_per_day\":%lf,\"hour\":%lf,\"velocity_1h\":%lf",
		                  &age, &acct, &txn, &hour, &vel) != 5)
			goto out;
		const char *cs = strstr(ev, "\"country\":\"");
		if (!cs ||
		    sscanf(
		        cs,
		        "\"country\":\"%7[^\"]\",\"device\":\"%15[^\"]\",\"channel\":\"%7[^\"]\","
		        "\"is_new_device\":%7[a-z],\"age_band\":\"%7[^\"]\"",
		        country, device, channel, newdev, band) != 5)
			goto out;
		fprintf(f, "%s,%.2f,%.0f,%.0f,%.3f,%.2f,%.0f,%.3f,%s,%s,%s,%s,%s,%s,%s,%.4f,%s\n",
		        tr.id, tr.amount, age, acct, tr.distance_km, txn, hour, vel,
		        tr.merchant_type, country, device, channel, newdev, band,
		        tr.predicted_fraud ? "fraud" : "legit", tr.confidence,
		        tr.label_fraud ? "fraud" : "legit");
	}
	rc = 0;
out:
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

int demo_sim_config(char *buf, size_t cap, int metrics_port, int hook_port, const char *secret_file)
{
	return snprintf(
	    buf, cap,
	    "; written by `mlwatch demo`\n"
	    "[collector]\n"
	    "window = 10s\n"
	    "analyze_interval = 2s\n"
	    "; no drift verdict on fewer values than this in a window\n"
	    "drift_min_sample = 100\n"
	    "external_url = http://127.0.0.1:%d\n"
	    "[agent]\n"
	    "batch_max_delay = 100ms\n"
	    "[tui]\n"
	    "range = 15m\n"
	    "[model fraud]\n"
	    "task = classification\n"
	    "; fairness across age bands: the accuracy view's panel, mlwatch fairness\n"
	    "fairness_by = age_band\n"
	    "positive_label = fraud\n"
	    "[alert fraud-latency-p99]\n"
	    "model = fraud\n"
	    "expr = p99_latency_ms > 250 over 10s\n"
	    "for = 3s\n"
	    "severity = page\n"
	    "receivers = demo-webhook\n"
	    "summary = p99 latency of {model} is {value} ms (threshold {threshold} ms)\n"
	    "[alert fraud-feature-drift]\n"
	    "model = fraud\n"
	    "expr = drift(*) > 1\n"
	    "; a window-long breach, not one noisy analysis\n"
	    "for = 10s\n"
	    "severity = warn\n"
	    "receivers = demo-webhook\n"
	    "summary = {feature} of {model} drifted (severity {value})\n"
	    "[alert fraud-accuracy]\n"
	    "model = fraud\n"
	    "expr = accuracy < 0.85\n"
	    "for = 10s\n"
	    "severity = page\n"
	    "receivers = demo-webhook\n"
	    "summary = accuracy of {model} fell to {value}\n"
	    "[receiver demo-webhook]\n"
	    "type = webhook\n"
	    "url = http://127.0.0.1:%d/alerts\n"
	    "secret_file = %s\n",
	    metrics_port, hook_port, secret_file);
}
