/* wire_same: see wire_same.h. */
#include "wire_same.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Each check fails with the field's path and the item's index. */
#define DIFF(...)                                \
	do {                                     \
		snprintf(why, cap, __VA_ARGS__); \
		return false;                    \
	} while (0)

static bool bits_eq(double a, double b)
{
	return memcmp(&a, &b, sizeof(a)) == 0;
}

/* Both absent, or both present with the same text. */
static bool str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool bytes_eq(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	return (a == NULL) == (b == NULL) && an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

static bool value_same(const struct value *x, const struct value *y)
{
	return x->kind == y->kind && bits_eq(x->num, y->num) && str_eq(x->str, y->str);
}

static bool event_same(const struct event *a, const struct event *b, size_t i, char *why,
                       size_t cap)
{
	if (!str_eq(a->model, b->model) || !str_eq(a->version, b->version) || !str_eq(a->id, b->id))
		DIFF("event %zu: model, version or id", i);
	if (!bits_eq(a->ts, b->ts) || a->ts_given != b->ts_given)
		DIFF("event %zu: ts", i);
	if (a->has_latency != b->has_latency || !bits_eq(a->latency_ms, b->latency_ms))
		DIFF("event %zu: latency_ms", i);
	if (a->error != b->error)
		DIFF("event %zu: error", i);
	if (a->has_score != b->has_score || !bits_eq(a->score, b->score))
		DIFF("event %zu: score", i);
	if (a->n_features != b->n_features)
		DIFF("event %zu: %zu vs %zu features", i, a->n_features, b->n_features);
	for (size_t k = 0; k < a->n_features; k++) {
		const struct feature *f = &a->features[k], *g = &b->features[k];
		if (!str_eq(f->name, g->name) || f->kind != g->kind || !bits_eq(f->num, g->num) ||
		    !str_eq(f->str, g->str) || f->dim != g->dim ||
		    (f->vec == NULL) != (g->vec == NULL) ||
		    (f->dim && memcmp(f->vec, g->vec, f->dim * sizeof(float)) != 0))
			DIFF("event %zu: feature %zu", i, k);
	}
	if (a->n_scores != b->n_scores)
		DIFF("event %zu: %zu vs %zu scores", i, a->n_scores, b->n_scores);
	for (size_t k = 0; k < a->n_scores; k++)
		if (!str_eq(a->scores[k].cls, b->scores[k].cls) ||
		    !bits_eq(a->scores[k].p, b->scores[k].p))
			DIFF("event %zu: score %zu", i, k);
	if (!value_same(&a->prediction, &b->prediction))
		DIFF("event %zu: prediction", i);
	if (!value_same(&a->label, &b->label))
		DIFF("event %zu: label", i);
	if (a->has_input_tokens != b->has_input_tokens || a->input_tokens != b->input_tokens ||
	    a->has_output_tokens != b->has_output_tokens || a->output_tokens != b->output_tokens ||
	    a->has_ttft != b->has_ttft || !bits_eq(a->ttft_ms, b->ttft_ms) ||
	    a->has_tpot != b->has_tpot || !bits_eq(a->tpot_ms, b->tpot_ms) ||
	    !str_eq(a->finish_reason, b->finish_reason))
		DIFF("event %zu: LLM fields", i);
	return true;
}

static bool summary_same(const struct wire_summary *a, const struct wire_summary *b, size_t i,
                         char *why, size_t cap)
{
	if (!str_eq(a->model, b->model) || a->second != b->second || a->count != b->count ||
	    a->errors != b->errors || a->sampled != b->sampled)
		DIFF("summary %zu: model, second or counts", i);
	if (!bytes_eq(a->sketch, a->sketch_len, b->sketch, b->sketch_len) ||
	    !bytes_eq(a->ttft, a->ttft_len, b->ttft, b->ttft_len) ||
	    !bytes_eq(a->tpot, a->tpot_len, b->tpot, b->tpot_len))
		DIFF("summary %zu: sketches", i);
	if (a->llm != b->llm || a->input_tokens != b->input_tokens ||
	    a->output_tokens != b->output_tokens)
		DIFF("summary %zu: LLM counts", i);
	if (a->n_finish != b->n_finish)
		DIFF("summary %zu: %zu vs %zu finish reasons", i, a->n_finish, b->n_finish);
	for (size_t k = 0; k < a->n_finish; k++)
		if (!str_eq(a->finish[k].reason, b->finish[k].reason) ||
		    a->finish[k].count != b->finish[k].count)
			DIFF("summary %zu: finish reason %zu", i, k);
	return true;
}

bool wire_batch_same(const struct wire_batch *x, const struct wire_batch *y, char *why, size_t cap)
{
	if (x->protocol != y->protocol || !str_eq(x->agent_id, y->agent_id) || x->seq != y->seq)
		DIFF("header: protocol, agent_id or seq");
	if (!bytes_eq(x->token, x->token_len, y->token, y->token_len))
		DIFF("header: token");
	if (!bits_eq(x->created, y->created))
		DIFF("header: created");
	if (x->stats.present != y->stats.present || x->stats.received != y->stats.received ||
	    x->stats.rejected != y->stats.rejected ||
	    x->stats.spool_dropped != y->stats.spool_dropped ||
	    x->stats.spool_bytes != y->stats.spool_bytes ||
	    !bits_eq(x->stats.started, y->stats.started))
		DIFF("stats");
	if (x->n_invalid != y->n_invalid || strcmp(x->first_invalid, y->first_invalid) != 0)
		DIFF("invalid items: %zu \"%s\" vs %zu \"%s\"", x->n_invalid, x->first_invalid,
		     y->n_invalid, y->first_invalid);
	if (x->n_events != y->n_events)
		DIFF("%zu vs %zu events", x->n_events, y->n_events);
	for (size_t i = 0; i < x->n_events; i++)
		if (!event_same(&x->events[i], &y->events[i], i, why, cap))
			return false;
	if (x->n_labels != y->n_labels)
		DIFF("%zu vs %zu labels", x->n_labels, y->n_labels);
	for (size_t i = 0; i < x->n_labels; i++) {
		const struct label *a = &x->labels[i], *b = &y->labels[i];
		if (!str_eq(a->model, b->model) || !str_eq(a->id, b->id) ||
		    !value_same(&a->label, &b->label) || !bits_eq(a->ts, b->ts) ||
		    a->ts_given != b->ts_given)
			DIFF("label %zu", i);
	}
	if (x->n_summaries != y->n_summaries)
		DIFF("%zu vs %zu summaries", x->n_summaries, y->n_summaries);
	for (size_t i = 0; i < x->n_summaries; i++)
		if (!summary_same(&x->summaries[i], &y->summaries[i], i, why, cap))
			return false;
	return true;
}
