/* cli: see cli.h. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void print_flag(const char *key, const char *type, const char *def, void *arg)
{
	char flag[64];
	size_t i;

	(void)arg;
	for (i = 0; key[i] && i + 1 < sizeof(flag); i++)
		flag[i] = key[i] == '_' ? '-' : key[i];
	flag[i] = '\0';
	if (strcmp(type, "bool") == 0)
		printf("  --%-26s (switch%s)\n", flag, strcmp(def, "true") == 0 ? ", on" : "");
	else if (def[0])
		printf("  --%-26s %s (default %s)\n", flag, type, def);
	else
		printf("  --%-26s %s\n", flag, type);
}

static const struct cli_flag *extra_find(const struct cli_flag *extra, const char *name)
{
	for (; extra && extra->name; extra++)
		if (strcmp(extra->name, name) == 0)
			return extra;
	return NULL;
}

/* Splits "--name=value" into name (copied into buf) and value. */
static const char *flag_name(const char *arg, char *buf, size_t cap, const char **inline_val)
{
	const char *eq = strchr(arg + 2, '=');
	size_t n = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);

	if (n >= cap)
		n = cap - 1;
	memcpy(buf, arg + 2, n);
	buf[n] = '\0';
	*inline_val = eq ? eq + 1 : NULL;
	return buf;
}

int cli_parse(const char *prog, enum config_section sec, const char *usage,
              const struct cli_flag *extra, int argc, char **argv, struct mlw_config *cfg,
              struct cli_result *res)
{
	const char *config_path = NULL;
	char err[1024], name[64];
	bool after_dashdash = false;

	memset(res, 0, sizeof(*res));
	if (config_init(cfg)) {
		fprintf(stderr, "%s: error: out of memory\n", prog);
		return 2;
	}
	res->args = calloc((size_t)argc + 1, sizeof(*res->args));
	res->flags = calloc((size_t)argc + 1, sizeof(*res->flags));
	if (!res->args || !res->flags) {
		fprintf(stderr, "%s: error: out of memory\n", prog);
		return 2;
	}
	/* Pass 1: --help, --version and --config, which decide what pass 2 means. */
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v;
		if (strcmp(a, "--") == 0)
			break;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			fputs(usage, stdout);
			printf("\nConfiguration flags (each is also a key in [%s] of the config "
			       "file; a flag overrides the file):\n",
			       sec == CONFIG_AGENT       ? "agent"
			       : sec == CONFIG_COLLECTOR ? "collector"
			                                 : "tui");
			config_for_each_flag(sec, print_flag, NULL);
			return 1;
		}
		if (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0) {
			printf("%s %s\n", prog, MLWATCH_VERSION);
			return 1;
		}
		if (strncmp(a, "--config", 8) == 0 && (a[8] == '\0' || a[8] == '=')) {
			flag_name(a, name, sizeof(name), &v);
			if (!v) {
				if (i + 1 >= argc) {
					fprintf(stderr, "%s: error: --config needs a FILE\n", prog);
					return 2;
				}
				v = argv[++i];
			}
			config_path = v;
		}
	}
	if (!config_path && access(CONFIG_DEFAULT_PATH, F_OK) == 0)
		config_path = CONFIG_DEFAULT_PATH;
	if (config_path && config_load(cfg, config_path, err, sizeof(err))) {
		fprintf(stderr, "%s: error: %s\n", prog, err);
		return 2;
	}
	/* Pass 2: flags over the file, in order; positionals collected. */
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v;
		const struct cli_flag *x;
		int isbool;

		if (after_dashdash || a[0] != '-' || a[1] == '\0') {
			res->args[res->n_args++] = argv[i];
			continue;
		}
		if (strcmp(a, "--") == 0) {
			after_dashdash = true;
			continue;
		}
		if (a[1] != '-') {
			fprintf(stderr,
			        "%s: error: unknown flag '%s' (flags are --long; see --help)\n",
			        prog, a);
			return 2;
		}
		flag_name(a, name, sizeof(name), &v);
		if (strcmp(name, "config") == 0) {
			if (!v)
				i++;
			continue;
		}
		x = extra_find(extra, name);
		isbool = x ? !x->takes_value : config_key_is_bool(sec, name);
		if (isbool < 0) {
			fprintf(stderr, "%s: error: unknown flag '--%s' (see --help)\n", prog,
			        name);
			return 2;
		}
		if (isbool && !v) {
			v = "true";
		} else if (!v) {
			if (i + 1 >= argc) {
				fprintf(stderr, "%s: error: --%s needs a value\n", prog, name);
				return 2;
			}
			v = argv[++i];
		}
		if (x) {
			res->flags[res->n_flags].name = x->name;
			res->flags[res->n_flags].value = x->takes_value ? v : NULL;
			res->n_flags++;
			continue;
		}
		if (config_set(cfg, sec, name, v, err, sizeof(err))) {
			fprintf(stderr, "%s: error: --%s: %s\n", prog, name, err);
			return 2;
		}
	}
	return 0;
}

void cli_result_free(struct cli_result *res)
{
	free(res->args);
	free(res->flags);
	memset(res, 0, sizeof(*res));
}

const char *cli_get(const struct cli_result *res, const char *name)
{
	const char *v = NULL;
	for (int i = 0; i < res->n_flags; i++)
		if (strcmp(res->flags[i].name, name) == 0)
			v = res->flags[i].value;
	return v;
}

bool cli_has(const struct cli_result *res, const char *name)
{
	for (int i = 0; i < res->n_flags; i++)
		if (strcmp(res->flags[i].name, name) == 0)
			return true;
	return false;
}
