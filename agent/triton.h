/* triton: NVIDIA Triton Inference Server trace files (`--trace-config
 * triton,file=PATH`), read by the tail input (`--tail PATH --format triton`).
 * It owns the parsing of the file text into events; ingest_tail owns the
 * files (PATH itself, or the indexed files PATH.0, PATH.1, ... that
 * `log_frequency=N` makes) and the positions.
 *
 * What Triton writes (src/tracer.cc): ONE JSON array per file, "[" then
 * records joined by ",", "]" when the file is done (an indexed file is
 * written whole; PATH itself only at shutdown), so a file may be read while
 * its array is still open. All the records of one trace id come together
 * (a trace's streams are written at once when the request is released):
 *   {"id":N,"model_name":"m","model_version":V[,"request_id":"r"][,"parent_id":P]}
 *   {"id":N,"timestamps":[{"name":"REQUEST_START","ns":T}]}   one per activity
 *   {"id":N,"activity":"TENSOR_QUEUE_INPUT","tensor":{"name","data","shape","dtype"}}
 * ns are steady-clock (CLOCK_MONOTONIC) nanoseconds, not wall time.
 *
 * One trace id = one request = one event (an ensemble's composing models
 * have their own ids, parent_id set, and give their own events): model =
 * model_name, version = model_version, id = request_id (none when Triton
 * had none), latency = REQUEST_END - REQUEST_START (unknown when either is
 * missing, counted), ts = the wall time of REQUEST_START when the steady
 * clock is this machine's (the age is 0-1 day), else the read time.
 * TENSORS level: TENSOR_QUEUE_INPUT tensors (else TENSOR_BACKEND_INPUT) are
 * the features ("name" for one value per row, "name[j]" else; a shape of
 * rank >= 2 is a batch: one event per row, ids "request_id/row"), the first
 * TENSOR_BACKEND_OUTPUT tensor the prediction (one value per row: the value;
 * more: the index of the largest). A tensor whose values cannot be read is
 * dropped with a precise reason and counted, the trace still gives its
 * event: Triton writes INT8/UINT8 elements as characters and no values for
 * FP16/BF16; data that does not match its shape ("0.1,0.1,..." in Triton's
 * docs) or holds a non-number. NaN/inf values are missing values.
 * A trace without its model record, a record that is not JSON or has no
 * numeric id, and an unfinished record at the end of a finished file are
 * refused with what, where and why.
 *
 * Pure functions, no I/O, no globals: used by the tail thread, fuzzed by
 * tests/fuzz/fuzz_triton.c. */
#ifndef MLW_AGENT_TRITON_H
#define MLW_AGENT_TRITON_H

#include <stdbool.h>
#include <stddef.h>

#include "event.h"

#define TRITON_TRACE_RECORDS_MAX 1024 /* records of one trace id */
#define TRITON_ROWS_MAX          1024 /* batch rows of one tensor */

struct triton_report {
	size_t traces;            /* trace ids read (events or refusals) */
	size_t refused;           /* traces and records refused */
	size_t tensors_refused;   /* tensors dropped, their trace kept */
	size_t latency_unknown;   /* events without REQUEST_START/REQUEST_END */
	struct event_error first; /* the first refusal (field = "byte N" / "id N") */
	char tensor_reason[256];  /* the last tensor dropped, and why */
};

/* Parses the records of buf[0..len) (a file's text from its start or from
 * a position this function returned) and appends the events of every
 * finished trace to eb. A trace is finished when a record of another id
 * follows it, when the array closes, or when final (the file is done).
 * *consumed = where the next call must start: the first record of the
 * trace still open (its records are read again then), or len when final.
 * At most max_traces traces per call. rep is zeroed first. Returns 0, or
 * -3 out of memory (nothing consumed). */
int triton_parse(const char *buf, size_t len, bool final, double now, double mono_now,
                 size_t max_traces, struct event_batch *eb, size_t *consumed,
                 struct triton_report *rep);

/* Where to resume after a dropped over-long trace: the offset of the next
 * record start ({"id": as Triton writes it) or ']' in buf, or len. */
size_t triton_resync(const char *buf, size_t len);

#endif
