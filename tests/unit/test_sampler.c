/* sampler: deterministic by (model, id), the configured share, labels
 * follow events, per-model rates override the default. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../../agent/sampler.h"
#include "config.h"

Test(sampler, rate_one_keeps_everything)
{
	struct sampler *s = sampler_new(1.0, NULL);
	cr_assert_not_null(s);
	for (int i = 0; i < 1000; i++) {
		char id[32];
		snprintf(id, sizeof(id), "r%d", i);
		cr_assert(sampler_keep(s, "m", id));
	}
	cr_assert(sampler_keep(s, "m", NULL));
	sampler_free(s);
}

Test(sampler, share_is_the_rate_within_half_a_percent)
{
	struct sampler *s = sampler_new(0.1, NULL);
	int kept = 0, n = 100000;
	for (int i = 0; i < n; i++) {
		char id[32];
		snprintf(id, sizeof(id), "req-%d", i);
		kept += sampler_keep(s, "fraud", id);
	}
	cr_expect(kept >= 9500 && kept <= 10500, "kept %d of %d", kept, n);
	int random_kept = 0;
	for (int i = 0; i < n; i++)
		random_kept += sampler_keep(s, "fraud", NULL);
	cr_expect(random_kept >= 9500 && random_kept <= 10500, "kept %d without ids", random_kept);
	sampler_free(s);
}

Test(sampler, decision_depends_only_on_model_and_id)
{
	struct sampler *a = sampler_new(0.3, NULL), *b = sampler_new(0.3, NULL);
	int differ_model = 0;
	for (int i = 0; i < 5000; i++) {
		char id[32];
		snprintf(id, sizeof(id), "x%d", i);
		cr_assert_eq(sampler_keep(a, "m", id), sampler_keep(b, "m", id));
		cr_assert_eq(sampler_keep(a, "m", id), sampler_keep(a, "m", id));
		differ_model += sampler_keep(a, "m", id) != sampler_keep(a, "n", id);
	}
	cr_expect(differ_model > 1000, "the model is part of the hash (%d differ)", differ_model);
	/* The separator matters: ("ab", "c") and ("a", "bc") hash apart. */
	cr_expect_neq(sampler_hash("ab", "c"), sampler_hash("a", "bc"));
	sampler_free(a);
	sampler_free(b);
}

Test(sampler, per_model_rate_from_config)
{
	struct mlw_config cfg;
	char path[] = "/tmp/mlw-sampler-XXXXXX", err[256];
	int fd = mkstemp(path);
	const char *ini = "[model fraud]\nsample_rate = 0.25\n";
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, ini, strlen(ini)), (ssize_t)strlen(ini));
	close(fd);
	cr_assert_eq(config_init(&cfg), 0);
	cr_assert_eq(config_load(&cfg, path, err, sizeof(err)), 0, "%s", err);
	unlink(path);
	struct sampler *s = sampler_new(1.0, &cfg);
	cr_expect_float_eq(sampler_rate(s, "fraud"), 0.25, 1e-12);
	cr_expect_float_eq(sampler_rate(s, "other"), 1.0, 1e-12);
	int kept = 0;
	for (int i = 0; i < 20000; i++) {
		char id[32];
		snprintf(id, sizeof(id), "%d", i);
		kept += sampler_keep(s, "fraud", id);
	}
	cr_expect(kept > 4600 && kept < 5400, "kept %d of 20000 at 0.25", kept);
	sampler_free(s);
	config_free(&cfg);
}
