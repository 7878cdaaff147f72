/* event: prediction events and late labels as the contract's section 2
 * defines them, parsed from JSON (cJSON) with every rule enforced.
 *
 * Parsed data lives in an arena owned by the caller (or by an event_batch);
 * no string in these structs is freed on its own. */
#ifndef MLW_EVENT_H
#define MLW_EVENT_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "arena.h"

#define EVENT_MODEL_MAX        64
#define EVENT_VERSION_MAX      64
#define EVENT_ID_MAX           128
#define EVENT_FEATURES_MAX     1024
#define EVENT_FEATURE_NAME_MAX 128
#define EVENT_CATEGORY_MAX     256
#define EVENT_SCORES_MAX       1024
#define EVENT_FUTURE_MAX_S     300.0 /* a ts further ahead than this is clock skew */
#define EVENT_FINISH_MAX       32
/* A count of tokens above this is not one request but a bug or an attack;
 * it also keeps per-second sums far from overflowing int64. */
#define EVENT_TOKENS_MAX (INT64_C(1) << 32)

/* FEATURE_VECTOR (issue 19): an array of 1 to VECTOR_DIM_MAX finite
 * numbers, an embedding; kept as float32 (common/vector.h). */
enum feature_kind {
	FEATURE_MISSING = 0,
	FEATURE_NUMERIC = 1,
	FEATURE_CATEGORICAL = 2,
	FEATURE_VECTOR = 3
};

struct feature {
	const char *name;
	enum feature_kind kind;
	double num;       /* FEATURE_NUMERIC */
	const char *str;  /* FEATURE_CATEGORICAL ("true"/"false" for booleans) */
	const float *vec; /* FEATURE_VECTOR: dim values (in the same arena) */
	size_t dim;
};

/* A prediction or label: a number (regression value or class index) or a
 * string (class name). VALUE_NONE when absent or null. */
enum value_kind { VALUE_NONE = 0, VALUE_NUMBER = 1, VALUE_STRING = 2 };

struct value {
	enum value_kind kind;
	double num;
	const char *str;
};

struct class_score {
	const char *cls;
	double p;
};

struct event {
	const char *model;
	const char *version; /* NULL when absent */
	const char *id;      /* NULL when absent */
	double ts;           /* Unix seconds; receive time when not given */
	bool ts_given;
	bool has_latency;
	bool error;
	bool has_score;
	double latency_ms;
	double score;
	struct feature *features;
	size_t n_features;
	struct class_score *scores;
	size_t n_scores;
	struct value prediction;
	struct value label;
	/* LLM serving (issue 15): token counts, time to first token and
	 * time per output token (ms), each valid when its has_ flag is set
	 * (a zeroed event knows none), and why generation stopped (NULL
	 * unknown; "stop", "length", ...). */
	bool has_input_tokens, has_output_tokens, has_ttft, has_tpot;
	int64_t input_tokens, output_tokens;
	double ttft_ms, tpot_ms;
	const char *finish_reason;
};

/* True when ev carries any LLM field. */
bool event_has_llm(const struct event *ev);
/* True when s[0..n) is a usable finish reason: 1-EVENT_FINISH_MAX bytes of
 * [a-z0-9_-]. */
bool event_finish_reason_valid(const char *s, size_t n);

struct label {
	const char *model;
	const char *id;
	struct value label;
	double ts;
	bool ts_given;
};

/* Where and why a parse failed. index is the item's position in a batch
 * (-1 for a body-level error); field is a path like "features.amount". */
struct event_error {
	long index;
	char field[192];
	char reason[256];
	bool label_only; /* an event object carrying only a label (see event_parse) */
	/* A refused vector feature: why (enum vector_reason, 0 when the
	 * refusal is not about a vector), for its counter and its status
	 * (413 for too many dimensions, else 400). */
	int vector_reason;
};

/* "events[3].features.amount: must be a finite number" (or without index). */
char *event_error_format(const struct event_error *err, char *buf, size_t cap);
/* Fills err for a refusal that is not about one item of a batch (index -1,
 * label_only false): field names where, fmt says why. Returns -1, for
 * `return event_fail(...)`. The inputs that parse other formats (BentoML
 * monitor logs, TorchServe/Ray Serve lines) refuse with it too. */
int event_fail(struct event_error *err, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

struct cJSON;

/* Parses one event object. now is the receive time (used when ts is absent
 * and to reject timestamps more than EVENT_FUTURE_MAX_S ahead). Strings are
 * copied into a. Returns 0, or -1 with *err filled (index left as -1). */
int event_parse(const struct cJSON *obj, double now, struct arena *a, struct event *out,
                struct event_error *err);
/* Parses one label object {"model", "id", "label", "ts"}; id and a non-null
 * label are required. */
int label_parse(const struct cJSON *obj, double now, struct arena *a, struct label *out,
                struct event_error *err);

enum event_body_kind { EVENT_BODY_EVENTS, EVENT_BODY_LABELS };

struct event_batch {
	struct event *events;
	size_t n_events, cap_events;
	struct label *labels;
	size_t n_labels, cap_labels;
	struct arena arena;
};

void event_batch_init(struct event_batch *b);
void event_batch_reset(struct event_batch *b); /* frees everything; reusable */

/* Parses a request body: one object, a JSON array of objects, or NDJSON (one
 * object per line; blank lines skipped). All or nothing: on error the batch
 * is left as it was before the call. Appends to b->events or b->labels.
 * Returns 0; -1 malformed (err filled, err->index is the item); -2 more than
 * max_items items (err filled); -3 out of memory. */
int event_parse_body(const char *body, size_t len, enum event_body_kind kind, double now,
                     size_t max_items, struct event_batch *b, struct event_error *err);

/* True when JSON text s[0..n) holds the escape \u0000: cJSON would decode it
 * into a NUL that silently cuts the string short ("a\u0000b" read as "a"),
 * so bodies holding one are refused before parsing. */
bool event_json_has_nul_escape(const char *s, size_t n);

/* Same rule checks for names that reach us another way (KServe, the wire). */
bool event_model_name_valid(const char *s, size_t n);
bool event_feature_name_valid(const char *s, size_t n);

/* A 1024-bit filter of the feature names of one event, for finding a name
 * given twice: a name whose bit was not set is certainly new, so string
 * compares are needed only on a hit. Zero-initialise before use. */
struct event_name_filter {
	uint64_t bits[16];
};
/* Sets the bit of name[0..len); true when it was set already (the name may
 * be a repeat: compare to know). */
bool event_name_filter_add(struct event_name_filter *f, const char *name, size_t len);
bool event_id_valid(const char *s, size_t n);

#endif
