/* config: the INI file of the contract's section 6 (read with inih) and the
 * command-line flags that override it. One table of keys per section says
 * each key's type, bounds and default; flags are the same keys spelled with
 * dashes (--spool-max for spool_max), so file and command line can never
 * disagree on what a setting means.
 *
 * Errors name the place: "FILE:LINE: unknown key 'x' in [agent]". All strings
 * in the structs are malloc'd and freed by config_free. */
#ifndef MLW_CONFIG_H
#define MLW_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

#define CONFIG_DEFAULT_PATH "/etc/mlwatch/mlwatch.conf"

struct strlist {
	char **v;
	size_t n;
	bool is_default; /* v holds the key's default: the first value set replaces it */
};

struct agent_config {
	struct strlist collector; /* one or more URLs; batches are spread over them */
	char *http;
	struct strlist listen_dgram;
	struct strlist tail;
	char *format;        /* of --tail files: jsonl | bentoml */
	char *tail_timezone; /* of naive timestamps in --tail files: local | UTC | Area/City */
	char *state_dir;
	char *spool_dir; /* "" = <state_dir>/spool */
	uint64_t spool_max;
	double sample_rate;
	char *token_file;
	char *http_token_file;              /* "" = the HTTP input takes requests without a token */
	char *http_tls_cert, *http_tls_key; /* "" = plain HTTP */
	char *http_tls_ca;                  /* "" = no client certificates asked */
	bool insecure;  /* listen on non-loopback addresses without authentication */
	char *agent_id; /* "" = hostname */
	char *tls_ca, *tls_cert, *tls_key;
	char *tls_server_name; /* "" = the collector URL's host */
	enum log_level log_level;
	long batch_max_events;
	int64_t batch_max_delay_ms;
	uint64_t max_body;
	long max_events_per_request;
	long max_connections;
	long inflight;
	uint64_t memory_max;
	int64_t stats_interval_ms;
	int64_t kserve_ttl_ms;
	char *kserve_mode;      /* all | request | response */
	char *kserve_latency;   /* auto | ce_time | none */
	char *kserve_component; /* predictor | transformer | explainer | any */
	char *kserve_model;     /* template over {isvc}, {namespace}, {model_name} */
	int64_t resend_ms;
	struct strlist otlp_feature; /* [MODEL:]ATTRIBUTE: span attributes taken as features */
};

struct collector_config {
	char *db;
	char *listen;
	char *http;
	char *token_file;
	char *tls_ca, *tls_cert, *tls_key;
	bool tls_verify_clients;
	bool insecure;
	char *http_token_file;              /* "" = /metrics without a token */
	char *http_tls_cert, *http_tls_key; /* "" = plain HTTP */
	char *http_tls_ca;                  /* "" = no client certificates asked */
	int64_t window_ms;
	enum log_level log_level;
	int64_t retention_raw_ms;
	int64_t retention_windows_ms;
	int64_t retention_hours_ms; /* hourly tier rows (issue 18) */
	int64_t retention_days_ms;  /* daily tier rows */
	int64_t label_ttl_ms;
	uint64_t max_message;
	char *synchronous; /* "normal" | "full" */
	int64_t analyze_interval_ms;
	int64_t evaluate_interval_ms; /* how often the alert rules are evaluated */
	char *external_url;
	long workers;
	long drift_min_sample;    /* fewer values in a window: no drift verdict */
	long fairness_min_sample; /* a smaller group takes no part in fairness gaps */
};

struct tui_config {
	char *db;
	int64_t interval_ms;
	bool no_color;
	enum log_level log_level;
	char *range; /* 15m | 1h | 6h | 24h | 7d | 30d */
};

enum feature_kind_cfg { KIND_AUTO = 0, KIND_NUMERIC = 1, KIND_CATEGORICAL = 2 };

struct model_feature_config {
	char *name;
	enum feature_kind_cfg kind;
	char *method;     /* NULL = default choice; a drift_method_name */
	double threshold; /* 0 = the method's default */
	char *preset;     /* NULL = the model's drift_preset; a drift_preset_name */
	/* false_alarm_rate.F: calibration target; -1 = the model's, 0 = off */
	double false_alarm_rate;
	double min_effect; /* min_effect.F: -1 = the method's default, 0 = none */
	int line;
};

/* model_config.reference_mode */
enum { REF_MODE_STATIC = 0, REF_MODE_ROLLING = 1, REF_MODE_HOUR_OF_WEEK = 2 };
/* "static", "rolling", "same-hour-of-week" */
const char *config_reference_mode_name(int mode);
/* Parses a `reference =` value; 0, or -1 with why in err. */
int config_parse_reference(const char *value, int *mode, int64_t *span_s, char *err, size_t errlen);

struct model_config {
	char *name;
	int line;
	bool has_sample_rate;
	double sample_rate;
	char *task;             /* auto | classification | regression */
	char *concept_detector; /* adwin | page_hinkley | both; NULL = adwin */
	char *drift_preset;     /* mlwatch | evidently | nannyml; NULL = mlwatch */
	char *fairness_by;      /* comma-separated protected attributes; NULL = none */
	char *positive_label;   /* the positive class; NULL = "1" */
	/* segments (issue 17): a categorical feature whose values split the
	 * analysis (collector/segments.h); NULL = none. segment_top_k values
	 * get their own segment, the rest are "other"; 0 = the default 20. */
	char *segment_by;
	long segment_top_k;
	/* target false alarm rate per window for calibrated drift thresholds;
	 * 0 = no calibration (the methods' default thresholds) */
	double false_alarm_rate;
	/* reference = static | rolling DURATION | same-hour-of-week Nw
	 * (issue 17 item 3): where the drift reference comes from; span_s is
	 * the rolling duration or N weeks in seconds (0 for static) */
	int reference_mode; /* REF_MODE_* */
	int64_t reference_span_s;
	struct model_feature_config *features;
	size_t n_features;
};

struct alert_config {
	char *name;
	int line;      /* of the [alert NAME] header */
	int expr_line; /* of the expr key, for expression errors */
	char *model;   /* name or "*" */
	char *expr;
	int64_t for_ms;
	char *severity;  /* page | warn | info */
	char *receivers; /* comma-separated receiver names */
	char *inhibit;   /* comma-separated [alert] names whose firing holds this one back */
	char *summary;
	char *description;
	bool send_resolved;
	int64_t repeat_interval_ms;
	bool notify_nodata;
};

struct receiver_config {
	char *name;
	int line;
	char *type; /* webhook | alertmanager | slack | pagerduty | exec */
	char *url;
	char *command; /* exec: argv split on blanks ('...' "..." quote), or sh -c with shell */
	bool shell;
	char *secret_file;
	char *routing_key_file;
	char *ca_file;
	int64_t max_age_ms;
	int64_t timeout_ms;
	int64_t min_interval_ms;
	/* grouping (Alertmanager's): labels a notification groups by
	 * (model, rule, feature, severity; "" = none), the wait before a new
	 * group's first notification and between a group's notifications */
	char *group_by;
	int64_t group_wait_ms, group_interval_ms;
};

struct mlw_config {
	char *path; /* the file read, or NULL */
	struct agent_config agent;
	struct collector_config collector;
	struct tui_config tui;
	struct model_config *models;
	size_t n_models;
	struct alert_config *alerts;
	size_t n_alerts;
	struct receiver_config *receivers;
	size_t n_receivers;
};

/* Sets every default. Returns 0, -1 when out of memory. */
int config_init(struct mlw_config *cfg);
void config_free(struct mlw_config *cfg);

/* Reads path into cfg (after config_init). Returns 0, or -1 with
 * "FILE:LINE: reason" in err. */
int config_load(struct mlw_config *cfg, const char *path, char *err, size_t errlen);

/* Sections whose keys can be set as flags. */
enum config_section { CONFIG_AGENT, CONFIG_COLLECTOR, CONFIG_TUI };

/* Sets key (underscores or dashes) of section from a flag value. Returns 0,
 * -1 unknown key, -2 bad value (reason in err, without the flag name). */
int config_set(struct mlw_config *cfg, enum config_section sec, const char *key, const char *value,
               char *err, size_t errlen);
/* 1 when the key is a boolean (a flag without a value), 0 when it takes a
 * value, -1 when unknown. */
int config_key_is_bool(enum config_section sec, const char *key);

/* Calls fn for every key the loader accepts, as "section.key" ("model.kind.*"
 * for pattern keys); for documentation checks. */
void config_for_each_key(void (*fn)(const char *section, const char *key, const char *def,
                                    void *arg),
                         void *arg);

/* Calls fn for each key of one flag-settable section with its type name
 * ("string", "duration", "size", "number", "integer", "bool", "level",
 * "list") and default; for --help. */
void config_for_each_flag(enum config_section sec,
                          void (*fn)(const char *key, const char *type, const char *def, void *arg),
                          void *arg);

/* Looks up a model's section; NULL when none. */
const struct model_config *config_model(const struct mlw_config *cfg, const char *name);

/* "90s", "5m", "4h", "7d", "200ms", "1w", "1.5h"; a bare number is seconds. */
int config_parse_duration(const char *s, int64_t *ms);
/* "256MiB", "8MB", "1024": units B, KB, MB, GB, TB (powers of 1000) and KiB,
 * MiB, GiB, TiB (powers of 1024); a bare number is bytes. */
int config_parse_size(const char *s, uint64_t *bytes);
int config_parse_bool(const char *s, bool *out);
/* Formats ms as the shortest exact form ("90s", "5m", "200ms"). */
char *config_format_duration(int64_t ms, char *buf, size_t cap);

/* Reads a secret from a file: the first line, without trailing whitespace.
 * Refuses files larger than 4 KiB and empty secrets. Returns a malloc'd
 * string or NULL with the reason in err (never the secret itself). */
char *config_read_secret(const char *path, char *err, size_t errlen);

#endif
