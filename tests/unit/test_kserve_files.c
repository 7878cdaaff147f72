/* Every file under tests/data/model-servers/ (copies of the payloads in
 * the project's shared testdata, with their SOURCES.md) fed to the agent's
 * input for it as the server sends it: KServe/Seldon halves, BentoML
 * monitor lines and otlp-monitor records, OTLP/JSON bodies, Triton trace
 * files (--format triton), TorchServe / Ray Serve log lines, and every name
 * of the GenAI / vLLM attribute lists as an OTLP span attribute. The tables
 * below say what each must give, events or a precise error; a file in the
 * fixtures (or in the shared testdata, when present) that no row lists
 * fails the test. */
#include <cJSON.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "clock.h"
#include "bentoml.h"
#include "harness.h"
#include "ingest_kserve.h"
#include "ingest_otlp.h"
#include "stats.h"
#include "textlog.h"
#include "triton.h"

#define MAXE 256

static struct {
	struct event ev[MAXE];
	char model[MAXE][EVENT_MODEL_MAX + 1];
	char pred[MAXE][300];
	char feats[MAXE][2048]; /* "name=value;" ... */
	char finish[MAXE][EVENT_FINISH_MAX + 1];
	char id[MAXE][EVENT_ID_MAX + 1];
	size_t n;
} cap;

static int emit(void *arg, const struct event *ev, size_t n, size_t *sampled)
{
	for (size_t i = 0; i < n && cap.n < MAXE; i++, cap.n++) {
		cap.ev[cap.n] = ev[i];
		snprintf(cap.model[cap.n], sizeof(cap.model[0]), "%s", ev[i].model);
		snprintf(cap.finish[cap.n], sizeof(cap.finish[0]), "%s",
		         ev[i].finish_reason ? ev[i].finish_reason : "none");
		snprintf(cap.id[cap.n], sizeof(cap.id[0]), "%s", ev[i].id ? ev[i].id : "none");
		if (ev[i].prediction.kind == VALUE_STRING)
			snprintf(cap.pred[cap.n], sizeof(cap.pred[0]), "%s", ev[i].prediction.str);
		else if (ev[i].prediction.kind == VALUE_NUMBER)
			snprintf(cap.pred[cap.n], sizeof(cap.pred[0]), "%g", ev[i].prediction.num);
		else
			snprintf(cap.pred[cap.n], sizeof(cap.pred[0]), "none");
		size_t o = 0;
		char *f = cap.feats[cap.n];
		f[0] = '\0';
		for (size_t j = 0; j < ev[i].n_features && o < sizeof(cap.feats[0]) - 1; j++) {
			const struct feature *ft = &ev[i].features[j];
			int w =
			    ft->kind == FEATURE_NUMERIC ? snprintf(f + o, sizeof(cap.feats[0]) - o,
			                                           "%s=%g;", ft->name, ft->num)
			    : ft->kind == FEATURE_CATEGORICAL
			        ? snprintf(f + o, sizeof(cap.feats[0]) - o, "%s=%s;", ft->name,
			                   ft->str)
			        : snprintf(f + o, sizeof(cap.feats[0]) - o, "%s=null;", ft->name);
			o += (size_t)w;
		}
	}
	*sampled = n;
	return 0;
}

static char *slurp(const char *rel, size_t *len)
{
	const char *src = getenv("MLWATCH_SRC_DIR");
	char path[1024];
	snprintf(path, sizeof(path), "%s/tests/data/model-servers/%s", src ? src : ".", rel);
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *b = malloc((size_t)n + 1);
	cr_assert_eq(fread(b, 1, (size_t)n, f), (size_t)n);
	b[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return b;
}

/* One logged half as the server sends it: header names (lower case) and
 * values, and the body. */
struct wire {
	char *name[32], *value[32];
	int n;
	char *body;
	size_t len;
};

static const char *hget(const struct wire *w, const char *name)
{
	for (int i = 0; i < w->n; i++)
		if (strcasecmp(w->name[i], name) == 0)
			return w->value[i];
	return NULL;
}

static void hadd(struct wire *w, const char *name, size_t nn, const char *v, size_t vn)
{
	cr_assert_lt(w->n, 32);
	w->name[w->n] = strndup(name, nn);
	w->value[w->n] = strndup(v, vn);
	w->n++;
}

static void wire_free(struct wire *w, int n)
{
	for (int i = 0; i < n; i++) {
		for (int j = 0; j < w[i].n; j++) {
			free(w[i].name[j]);
			free(w[i].value[j]);
		}
		free(w[i].body);
	}
}

static int send_wire(struct kserve *k, const struct wire *w, struct kserve_result *r)
{
	struct kserve_headers h = {
	    .id = hget(w, "ce-id"),
	    .type = hget(w, "ce-type"),
	    .time = hget(w, "ce-time"),
	    .service = hget(w, "ce-inferenceservicename"),
	    .source = hget(w, "ce-source"),
	    .specversion = hget(w, "ce-specversion"),
	    .recorded_time = hget(w, "ce-recordedtime"),
	    .ns = hget(w, "ce-namespace"),
	    .component = hget(w, "ce-component"),
	    .request_id = hget(w, "ce-requestid"),
	    .model_id = hget(w, "ce-modelid") ? hget(w, "ce-modelid") : hget(w, "model-id"),
	    .content_encoding = hget(w, "content-encoding"),
	    .header_length = hget(w, "inference-header-content-length"),
	};
	return kserve_handle(k, &h, w->body, w->len, clock_now(), r);
}

/* DERIVED_wire_*.json: {"events": [{"headers": {...}, "body": "..."}]}. */
static int parse_derived(const char *text, struct wire *w, int max)
{
	cJSON *root = cJSON_Parse(text);
	cr_assert_not_null(root);
	int n = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(root, "events"))
	{
		cr_assert_lt(n, max);
		memset(&w[n], 0, sizeof(w[n]));
		const cJSON *hv;
		cJSON_ArrayForEach(hv, cJSON_GetObjectItem(e, "headers"))
		{
			hadd(&w[n], hv->string, strlen(hv->string), hv->valuestring,
			     strlen(hv->valuestring));
		}
		const char *b = cJSON_GetObjectItem(e, "body")->valuestring;
		w[n].body = strdup(b);
		w[n].len = strlen(b);
		n++;
	}
	cJSON_Delete(root);
	return n;
}

/* Knative event_display output: "Context Attributes," and "Extensions,"
 * give "  name: value" lines (header ce-name), "Data," the body. */
static int parse_event_display(const char *text, struct wire *w, int max)
{
	int n = -1;
	const char *p = text;
	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t ll = eol ? (size_t)(eol - p) : strlen(p);
		if (strstr(p, "cloudevents.Event") && strstr(p, "cloudevents.Event") < p + ll) {
			cr_assert_lt(n + 1, max);
			memset(&w[++n], 0, sizeof(w[0]));
		} else if (n >= 0 && strncmp(p, "Data,", 5) == 0) {
			/* The body runs to the next event. */
			const char *b = eol ? eol + 1 : p + ll;
			const char *next = strstr(b, "\xe2\x98\x81");
			size_t bl = next ? (size_t)(next - b) : strlen(b);
			w[n].body = strndup(b, bl);
			w[n].len = bl;
			p = b + bl;
			continue;
		} else if (n >= 0 && ll > 2 && p[0] == ' ' && p[1] == ' ' && p[2] != ' ' &&
		           !w[n].body) {
			const char *c = memchr(p, ':', ll);
			if (c) {
				char name[64];
				snprintf(name, sizeof(name), "ce-%.*s", (int)(c - p - 2), p + 2);
				const char *v = c + 1;
				while (*v == ' ' && v < p + ll)
					v++;
				hadd(&w[n], name, strlen(name), v, (size_t)(p + ll - v));
			}
		}
		p = eol ? eol + 1 : p + ll;
	}
	return n + 1;
}

/* A Node.js echo server's dump: "{ path: ..., headers: { 'name': 'value',
 * ... }, ..., body: '...' ...}" per request. */
static int parse_node_echo(const char *text, struct wire *w, int max)
{
	int n = 0;
	const char *p = text;
	while ((p = strstr(p, "{ path:")) != NULL) {
		cr_assert_lt(n, max);
		memset(&w[n], 0, sizeof(w[n]));
		const char *end = strstr(p, "body: '");
		cr_assert_not_null(end);
		for (const char *q = p; q < end;) {
			const char *s1 = strchr(q, '\'');
			if (!s1 || s1 >= end)
				break;
			const char *s2 = strchr(s1 + 1, '\'');
			const char *colon = s2 ? strstr(s2, ": '") : NULL;
			if (!s2 || !colon || colon != s2 + 1) {
				q = s2 ? s2 + 1 : end;
				continue;
			}
			const char *v1 = colon + 3, *v2 = strchr(v1, '\'');
			hadd(&w[n], s1 + 1, (size_t)(s2 - s1 - 1), v1, (size_t)(v2 - v1));
			q = v2 + 1;
		}
		const char *b = end + 7, *be = strstr(b, "',\n");
		cr_assert_not_null(be);
		/* Node prints bytes below 0x20 as \u00XX: the body had the bytes. */
		w[n].body = malloc((size_t)(be - b) + 1);
		size_t o = 0;
		for (const char *c = b; c < be; c++) {
			unsigned x;
			if (c + 6 <= be && c[0] == '\\' && c[1] == 'u' &&
			    sscanf(c + 2, "%4x", &x) == 1 && x < 0x100) {
				w[n].body[o++] = (char)x;
				c += 5;
			} else {
				w[n].body[o++] = *c;
			}
		}
		w[n].len = o;
		n++;
		p = be;
	}
	return n;
}

/* The n-th top-level {...} block of a text (docs with JSON inside). */
static char *nth_block(const char *text, int nth)
{
	const char *p = text;
	for (int i = 0;; i++) {
		const char *s = strchr(p, '{');
		cr_assert_not_null(s);
		int depth = 0;
		const char *e = s;
		for (; *e; e++) {
			if (*e == '{')
				depth++;
			else if (*e == '}' && --depth == 0)
				break;
		}
		if (i == nth)
			return strndup(s, (size_t)(e - s + 1));
		p = e + 1;
	}
}

enum how {
	REQ,       /* the file is a request body; pair is the response */
	RESP,      /* the file is a response body; pair is the request */
	WIRE,      /* DERIVED_wire: headers and bodies as sent */
	DISPLAY,   /* event_display output of a pair */
	ECHO,      /* echo-server dump of halves; unpaired ones expire */
	ELEMENTS,  /* a JSON array of request bodies, each sent alone (batcher) */
	BLOCKS,    /* JSON blocks in a text: block 0 request, block 1 response */
	CURL,      /* a curl -d '...' request body */
	DATATYPES, /* the OIP datatype table: one tensor of each type */
	BENTO,     /* BentoML data lines, schema in pair, in BentoML's layout */
	TRITON,    /* a Triton trace file; pair: '+'-joined "@file"s or records
	            * written before the file's in the same array */
	TEXTLOG,   /* a timing-only text log, each line as the tail reads it with
	            * --format pair (torchserve | ray_serve) */
	OTLP,      /* OTLP/JSON: pair "traces" (the file is the body), "logs", or
	            * "record" / "record-fixed": the file's JSON block as a log
	            * record's string body, as published / trailing commas gone */
	NAMES,     /* an attribute-name list: every line as an OTLP span
	            * attribute, outcome in names[] below */
	NOT_INPUT  /* documentation, or a transport mlwatch does not take */
};

struct row {
	const char *file;
	enum how how;
	const char *pair;   /* the other half: "@file" or a literal body */
	const char *hlen;   /* Inference-Header-Content-Length of the file's half */
	const char *phlen;  /* same for the pair */
	long events;        /* events it must give; -1: refused (see expect) */
	const char *expect; /* ';'-separated: "[i:]name=value" feature, "[i:]p=..."
	                     * prediction, "m=..." model, "lat=none|ms", "err" error,
	                     * "in=", "out=" tokens ("none" when unknown), "fin=" finish reason,
	                     * "ttft=" ms, "id=" event id ("none"), "ignored=" lines that
	                     * are not a request (TEXTLOG),
	                     * or for a refusal "field|substring of the reason" */
};

#define TRITON_MODEL \
	"{\"id\":1,\"model_name\":\"simple\",\"model_version\":1,\"request_id\":\"r-1\"}"
#define IRIS_REQ "@kserve/v2_iris_nested_data_shape_2x4_request.json"
#define BERT_REQ "@kserve/v2_torchserve_bert_shape_minus1_string_data_request.json"
#define PROBS3   "{\"predictions\":[[0.9,0.05,0.05]]}"
#define OAI_RESP "@vllm/openai_chat_completion_response_kserve_docs.json"
#define OAI_SSE                                                                                   \
	"data: {\"id\":\"c1\",\"model\":\"qwen-cmpl\",\"choices\":[{\"index\":0,\"text\":\"4\","  \
	"\"finish_reason\":null}]}\n\n"                                                           \
	"data: {\"id\":\"c1\",\"model\":\"qwen-cmpl\",\"choices\":[{\"index\":0,\"text\":\"\","   \
	"\"finish_reason\":\"length\"}],\"usage\":{\"prompt_tokens\":21,\"completion_tokens\":1," \
	"\"total_tokens\":22}}\n\ndata: [DONE]\n\n"

static const struct row rows[] = {
    /* kserve/ */
    {"kserve/v1_iris_request.json", REQ, "@kserve/v1_iris_response.json", 0, 0, 2,
     "x0=6.8;x3=1.4;1:x1=3.4;p=1;1:p=1;m=iris;lat=none"},
    {"kserve/v1_iris_response.json", RESP, "@kserve/v1_iris_request.json", 0, 0, 2, "p=1"},
    {"kserve/v1_inputs_dict_of_lists_request.json", REQ, PROBS3, 0, 0, 1,
     "sepal_length_(cm)=5.1;petal_width_(cm)=0.2;p=0"},
    {"kserve/v1_inputs_list_of_single_key_dicts_request.json", REQ, PROBS3, 0, 0, 1,
     "sepal_length_(cm)=5.1;petal_width_(cm)=0.2;p=0"},
    {"kserve/v1_mixedtype_object_instance_request.json", REQ, "{\"predictions\":[208500]}", 0, 0, 1,
     "MSZoning=RL;LotArea=8450;GarageArea=548;p=208500"},
    {"kserve/v1_income_request.json", REQ, "{\"predictions\":[0]}", 0, 0, 1, "x0=39;x8=2174"},
    {"kserve/v1_batch_of_requests_array.json", REQ, "{\"predictions\":[1,1]}", 0, 0, -1,
     "|body is not a JSON object"},
    {"kserve/v1_batch_of_requests_array.json", ELEMENTS, "{\"predictions\":[1,1]}", 0, 0, 8,
     "x1=2.8;1:x1=1"},
    {"kserve/v2_iris_nested_data_shape_2x4_request.json", REQ,
     "@kserve/v2_response_mlserver_sklearn_iris.json", 0, 0, 2,
     "input-0[0]=6.8;1:input-0[3]=1.6;p=1;1:p=2;m=iris-classifier"},
    {"kserve/v2_mixed_bytes_int32_pd_request.json", REQ, "{\"predictions\":[208500]}", 0, 0, 1,
     "MSZoning=RL;LotArea=8450;OverallQual=7"},
    {"kserve/v2_columnar_multirow_bytes_int64_fp64_request.json", REQ, "{\"predictions\":[0,1]}", 0,
     0, 2,
     "PassengerId=1;Sex=male;Age=22;1:Sex=female;1:Name=Cumings, Mrs. John Bradley (Florence "
     "Briggs Thayer);1:p=1"},
    {"kserve/v2_mlflow_pd_fp32_request.json", REQ, "{\"predictions\":[5]}", 0, 0, 1,
     "fixed acidity=7.4;volatile acidity=0.7;p=5"},
    {"kserve/v2_request_outputs_binary_data_request.json", REQ,
     "@kserve/v2_binary_ext_response_fp16_fp32_raw.bin", 0, "253", 2,
     "input-0[0]=6.8;p=none;m=test_model"},
    {"kserve/v2_binary_data_output_param_request.json", REQ,
     "@kserve/v2_binary_ext_response_mixed.bin", 0, 0, 2, "input-0[1]=2.8;p=test;1:p=none"},
    {"kserve/v2_bytes_shape_empty_request.json", REQ, "{\"predictions\":[[0.5]]}", 0, 0, 1,
     "input-0=This is an example sentence.;p=0.5"},
    {"kserve/v2_torchserve_bert_shape_minus1_string_data_request.json", REQ,
     "@kserve/v2_response_torchserve_bert_bytes.json", 0, 0, 1,
     "p=Not Accepted;m=BERTSeqClassification"},
    {"kserve/v2_response_mlserver_sklearn_iris.json", RESP, IRIS_REQ, 0, 0, 2,
     "p=1;1:p=2;m=iris-classifier"},
    {"kserve/v2_response_mlserver_xgboost_iris.json", RESP, IRIS_REQ, 0, 0, 2, "p=1;1:p=1"},
    {"kserve/v2_response_torchserve_mnist.json", RESP,
     "{\"inputs\":[{\"name\":\"img\",\"shape\":[1],\"datatype\":\"BYTES\",\"data\":[\"a\"]}]}", 0,
     0, 1, "p=1;m=mnist"},
    {"kserve/v2_response_torchserve_bert_bytes.json", RESP, BERT_REQ, 0, 0, 1, "p=Not Accepted"},
    {"kserve/v2_binary_ext_request_mixed_json_plus_raw.bin", REQ, "{\"predictions\":[1,2,3]}",
     "546", 0, 3, "input1=1;1:input1=2;p=1;2:p=3"},
    /* The logger does not forward Inference-Header-Content-Length. */
    {"kserve/v2_binary_ext_request_mixed_json_plus_raw.bin", REQ, "{\"predictions\":[1,2,3]}", 0, 0,
     3, "input1=1;2:input1=3"},
    {"kserve/v2_binary_ext_response_fp16_fp32_raw.bin", RESP, IRIS_REQ, "253", 0, 2,
     "p=none;input-0[0]=6.8"},
    {"kserve/v2_binary_ext_response_mixed.bin", RESP, "{\"instances\":[[1]]}", 0, 0, 1, "p=test"},
    {"kserve/oip_spec_rest_example_request_response.txt", BLOCKS, 0, 0, 0, -1,
     "|body is not a JSON object (error at byte"},
    {"kserve/oip_tensor_datatypes.tsv", DATATYPES, 0, 0, 0, 14, ""},
    /* OpenAI bodies (/openai/v1/...): one event per pair, the model from the
     * response's "model" ({model_name}); tokens and finish reason from usage. */
    {"kserve/openai_chat_completions_request.json", REQ, OAI_RESP, 0, 0, 1,
     "prompt_chars=46;messages=2;max_tokens=20;stream=false;m=qwen;in=45;out=67;fin=stop;"
     "lat=none;p=none"},
    /* A streamed completion, logged as its buffered text/event-stream. */
    {"kserve/openai_completions_request.json", REQ, OAI_SSE, 0, 0, 1,
     "prompt_chars=23;max_tokens=20;stream=true;m=qwen-cmpl;in=21;out=1;fin=length"},
    /* An OpenAI request never pairs with a tensor response. */
    {"kserve/openai_chat_completions_request.json", REQ, "{\"predictions\":[1]}", 0, 0, -1,
     "|an OpenAI request cannot pair with a tensor response"},
    {"kserve/event_display_basic_logger_v1_pair.txt", DISPLAY, 0, 0, 0, 2,
     "x0=6.8;p=1;1:p=1;m=sklearn-iris;lat=none"},
    {"kserve/event_display_knative_broker_v1_pair.txt", DISPLAY, 0, 0, 0, 2,
     "x0=6.8;p=1;m=sklearn-iris;lat=none"},
    /* Feb 2020 pre-merge capture: ce-inferenceservice, JSON-quoted values. */
    {"kserve/legacy_kfserving_ce0.2_http_echo.txt", ECHO, 0, 0, 0, -1,
     "ce-inferenceservicename|header required"},
    {"kserve/DERIVED_wire_binary_ce_v0.18plus_pair.json", WIRE, 0, 0, 0, 2,
     "x0=6.8;p=1;lat=24.783202"},
    {"kserve/DERIVED_wire_binary_ce_v0.14_to_v0.17_pair.json", WIRE, 0, 0, 0, 2,
     "x0=6.8;p=1;lat=none"},
    {"kserve/SOURCES.md", NOT_INPUT, 0, 0, 0, 0, ""},
    /* seldon/ */
    {"seldon/v1_executor_logger_rest_http_echo.txt", ECHO, 0, 0, 0, 1,
     "x0=1;x1=2;m=classifier;err"},
    {"seldon/v1_executor_logger_grpc_http_echo.txt", ECHO, 0, 0, 0, -1,
     "|body is not a JSON object"},
    {"seldon/v2_rest_request_curl_iris.txt", CURL,
     "@seldon/v2_rest_response_mlserver_iris_model_name_suffixed.json", 0, 0, 1,
     "predict[0]=1;predict[3]=4;p=2;m=iris_1"},
    {"seldon/v2_rest_response_mlserver_iris_model_name_suffixed.json", RESP,
     "{\"instances\":[[1,2,3,4]]}", 0, 0, 1, "p=2;m=iris_1"},
    /* Seldon Core 2 speaks protobuf over Kafka; proto-JSON renderings of it
     * have no "data": refused with the tensor named. */
    {"seldon/v2_grpc_response_protojson_iris.json", RESP, "{\"instances\":[[1]]}", 0, 0, -1,
     "outputs|neither \"data\""},
    {"seldon/v2_kafka_value_model_input_protojson_pretty.json", REQ, "{\"predictions\":[1]}", 0, 0,
     -1, "inputs|neither \"data\""},
    {"seldon/v2_kafka_inspect_income_drift_output_int64contents.tsv", NOT_INPUT, 0, 0, 0, 0, ""},
    {"seldon/v2_kafka_inspect_tfsimple_extended_verbose_with_headers.tsv", NOT_INPUT, 0, 0, 0, 0,
     ""},
    {"seldon/v2_kafka_inspect_tfsimple_verbose_with_headers.tsv", NOT_INPUT, 0, 0, 0, 0, ""},
    {"seldon/v2_kafka_inspect_tfsimples_chain.tsv", NOT_INPUT, 0, 0, 0, 0, ""},
    {"seldon/SOURCES.md", NOT_INPUT, 0, 0, 0, 0, ""},
    /* bentoml/: the tail input (--format bentoml); texts over 256 bytes are missing values,
     * the role original_text (BentoML only warns about it) a feature. */
    {"bentoml/data.0.log.docs_example.jsonl", BENTO, "bentoml/schema.0.log.docs_example.jsonl", 0,
     0, 2, "input_text=null;p=none;m=text_summarization;lat=none;1:input_text=null"},
    {"bentoml/schema.0.log.docs_example.jsonl", NOT_INPUT, "read with the data file above", 0, 0, 0,
     ""},
    {"bentoml/default_monitor_logging_config.yaml", NOT_INPUT, 0, 0, 0, 0, ""},
    /* BentoML's otlp monitor: the docstring's record as a log body. As
     * published (Python-style trailing commas) it is no JSON object: a
     * plain log line to the OTLP input, ignored; fixed, the event. */
    {"bentoml/otlp_monitor_record_docstring_example.txt", OTLP, "record", 0, 0, 0, "ignored=1"},
    {"bentoml/otlp_monitor_record_docstring_example.txt", OTLP, "record-fixed", 0, 0, 1,
     "m=iris_classifier;id=6413930528999883196;p=setosa;sepal length=4.9;petal width=0.2"},
    {"bentoml/SOURCES.md", NOT_INPUT, 0, 0, 0, 0, ""},
    /* otel/, vllm/, triton/: the OTLP receiver's (i15-llm) */
    {"otel/genai_server_metric_names.txt", NAMES, 0, 0, 0, 6, ""},
    {"otel/genai_span_attribute_names.txt", NAMES, 0, 0, 0, 29, ""},
    /* The canonical OTLP/JSON examples: a server span of service
     * my.service (1 s); a plain string log, not model traffic. */
    {"otel/otlp_http_json_logs_example.json", OTLP, "logs", 0, 0, 0, "ignored=1"},
    {"otel/otlp_http_json_trace_example.json", OTLP, "traces", 0, 0, 1,
     "m=my.service;lat=1000;id=eee19b7ec3c1b174;in=none;ttft=none"},
    {"otel/SOURCES.md", NOT_INPUT, 0, 0, 0, 0, ""},
    {"vllm/openai_chat_completion_response_kserve_docs.json", RESP,
     "@kserve/openai_chat_completions_request.json", 0, 0, 1,
     "prompt_chars=46;m=qwen;in=45;out=67;fin=stop"},
    {"vllm/span_attribute_names.txt", NAMES, 0, 0, 0, 18, ""},
    {"vllm/SOURCES.md", NOT_INPUT, 0, 0, 0, 0, ""},
    /* triton/: the tail input (--format triton). The docs print the schema
     * with $string placeholders, and cut both examples out of whole traces:
     * alone they lack the model record Triton writes with REQUEST_START. */
    {"triton/trace_file_schema.txt", TRITON, 0, 0, 0, -1, "byte 4|record is not JSON"},
    {"triton/trace_timestamps_example.json", TRITON, 0, 0, 0, -1, "id 1|no model record"},
    {"triton/trace_tensors_example.json", TRITON, 0, 0, 0, -1, "id 1|no model record"},
    /* As Triton writes them: the model record first. 2356425057643164 -
     * 2356425054785863 ns; the tensor's "..." drops it (counted). */
    {"triton/trace_timestamps_example.json", TRITON, TRITON_MODEL, 0, 0, 1,
     "m=simple;id=r-1;lat=2.857301"},
    {"triton/trace_tensors_example.json", TRITON,
     TRITON_MODEL "+@triton/trace_timestamps_example.json", 0, 0, 1,
     "m=simple;lat=2.857301;p=none"},
    {"triton/SOURCES.md", NOT_INPUT, 0, 0, 0, 0, ""},
    /* Timing-only text logs, the tail input's --format torchserve and
     * ray_serve: one event per request line (the access line; the
     * replica's line), the handler step timings, host counters, the proxy's
     * copy of a request and user lines ignored. */
    {"torchserve/access_log.log", TEXTLOG, "torchserve", 0, 0, 1, "m=resnet-18;lat=118;ignored=0"},
    {"torchserve/model_log_handler_metrics.log", TEXTLOG, "torchserve", 0, 0, 0, "ignored=3"},
    {"torchserve/ts_metrics.log", TEXTLOG, "torchserve", 0, 0, 0, "ignored=1"},
    {"torchserve/SOURCES.md", NOT_INPUT, 0, 0, 0, 0, ""},
    {"ray_serve/access_and_replica_log_lines.txt", TEXTLOG, "ray_serve", 0, 0, 1,
     "m=SayHello;lat=0.3;id=none;ignored=2"},
    {"ray_serve/SOURCES.md", NOT_INPUT, 0, 0, 0, 0, ""},
    /* TF Serving has no OSS request log; the overview. */
    {"tfserving/SOURCES.md", NOT_INPUT, 0, 0, 0, 0, ""},
    {"README.md", NOT_INPUT, 0, 0, 0, 0, ""},
};

static char *body_of(const char *spec, size_t *len)
{
	if (spec[0] == '@')
		return slurp(spec + 1, len);
	*len = strlen(spec);
	return strdup(spec);
}

static int send_half(struct kserve *k, const char *type, const char *id, const char *body,
                     size_t len, const char *hlen, struct kserve_result *r)
{
	char full[80];
	snprintf(full, sizeof(full), "org.kubeflow.serving.inference.%s", type);
	struct kserve_headers h = {.id = id,
	                           .type = full,
	                           .time = "2026-03-10T09:46:05.0789529Z",
	                           .service = "iris",
	                           .ns = "default",
	                           .component = "predictor",
	                           .header_length = hlen};
	return kserve_handle(k, &h, body, len, clock_now(), r);
}

static size_t textlog_ignored; /* of the last TEXTLOG row */

/* Checks "[i:]key=value" items against the captured events from base. */
static void check(const struct row *w, size_t base)
{
	char spec[600];
	snprintf(spec, sizeof(spec), "%s", w->expect);
	for (char *save = NULL, *it = strtok_r(spec, ";", &save); it;
	     it = strtok_r(NULL, ";", &save)) {
		size_t i = base;
		char *colon = strchr(it, ':'), *eq = strchr(it, '=');
		if (colon && (!eq || colon < eq) && colon[1] != ' ') {
			i += strtoul(it, NULL, 10);
			it = colon + 1;
			eq = strchr(it, '=');
		}
		if (strncmp(it, "ignored=", 8) == 0) {
			cr_expect_eq(textlog_ignored, strtoul(it + 8, NULL, 10),
			             "%s: %zu lines ignored", w->file, textlog_ignored);
			continue;
		}
		cr_assert_lt(i, cap.n, "%s: no event %zu", w->file, i - base);
		if (strcmp(it, "err") == 0) {
			cr_expect(cap.ev[i].error, "%s: event %zu is no error", w->file, i - base);
			continue;
		}
		cr_assert_not_null(eq, "bad table item %s", it);
		*eq = '\0';
		const char *v = eq + 1;
		if (strcmp(it, "p") == 0) {
			cr_expect_str_eq(cap.pred[i], v, "%s: prediction", w->file);
		} else if (strcmp(it, "m") == 0) {
			cr_expect_str_eq(cap.model[i], v, "%s: model", w->file);
		} else if (strcmp(it, "id") == 0) {
			cr_expect_str_eq(cap.id[i], v, "%s: id", w->file);
		} else if (strcmp(it, "ttft") == 0) {
			if (strcmp(v, "none") == 0)
				cr_expect_not(cap.ev[i].has_ttft, "%s: ttft %g", w->file,
				              cap.ev[i].ttft_ms);
			else
				cr_expect(cap.ev[i].has_ttft &&
				              fabs(cap.ev[i].ttft_ms - strtod(v, NULL)) < 1e-6,
				          "%s: ttft %g", w->file, cap.ev[i].ttft_ms);
		} else if (strcmp(it, "fin") == 0) {
			cr_expect_str_eq(cap.finish[i], v, "%s: finish reason", w->file);
		} else if (strcmp(it, "in") == 0 || strcmp(it, "out") == 0) {
			bool in = it[0] == 'i';
			bool has = in ? cap.ev[i].has_input_tokens : cap.ev[i].has_output_tokens;
			long long got = in ? cap.ev[i].input_tokens : cap.ev[i].output_tokens;
			if (strcmp(v, "none") == 0)
				cr_expect_not(has, "%s: %s tokens %lld", w->file, it, got);
			else
				cr_expect(has && got == strtoll(v, NULL, 10), "%s: %s tokens %lld",
				          w->file, it, has ? got : -1LL);
		} else if (strcmp(it, "lat") == 0) {
			if (strcmp(v, "none") == 0)
				cr_expect_not(cap.ev[i].has_latency, "%s: latency %g", w->file,
				              cap.ev[i].latency_ms);
			else
				cr_expect(cap.ev[i].has_latency &&
				              fabs(cap.ev[i].latency_ms - strtod(v, NULL)) < 1e-3,
				          "%s: latency %g", w->file, cap.ev[i].latency_ms);
		} else {
			char want[400];
			snprintf(want, sizeof(want), "%s=%s;", it, v);
			char all[2100];
			snprintf(all, sizeof(all), ";%s", cap.feats[i]);
			char want2[410];
			snprintf(want2, sizeof(want2), ";%s", want);
			cr_expect(strstr(all, want2) != NULL, "%s: event %zu lacks %s in %s",
			          w->file, i - base, want, cap.feats[i]);
		}
	}
}

static void expect_refusal(const struct row *w, int rc, const struct kserve_result *r)
{
	char spec[200];
	snprintf(spec, sizeof(spec), "%s", w->expect);
	char *bar = strchr(spec, '|');
	*bar = '\0';
	cr_expect_eq(rc, -1, "%s: must be refused (rc %d)", w->file, rc);
	if (spec[0])
		cr_expect_str_eq(r->field, spec, "%s: field (%s)", w->file, r->error);
	cr_expect(strstr(r->error, bar + 1) != NULL, "%s: reason \"%s\"", w->file, r->error);
}

/* ---- attribute-name lists as OTLP span attributes ---------------------- */

/* What the agent does with each name of each list when a span carries it:
 * the items it changes from BASE (a SERVER span of service "svc", 500 ms,
 * span id eee19b7ec3c1b174), or "" when it is ignored (the event is BASE).
 * value: "s:" string, "i:" int, "d:" double, "b:" bool, "a:" array of one
 * string, as the emitters type them. The genai server METRIC names are
 * histograms: mlwatch takes no OTLP metrics (/v1/metrics answers 404,
 * tests/integration/test_otlp_http.c); per request the same figures come
 * from span attributes, and these rows say what each name does there. */
#define BASE   "m=svc;lat=500;in=none;out=none;fin=none;ttft=none;id=eee19b7ec3c1b174"
#define GENAI  "otel/genai_span_attribute_names.txt"
#define METRIC "otel/genai_server_metric_names.txt"
#define VLLM   "vllm/span_attribute_names.txt"

static const struct name_row {
	const char *file, *name, *value, *expect;
} names[] = {
    {GENAI, "gen_ai.conversation.id", "s:conv-1", ""},
    {GENAI, "gen_ai.inference.client", "s:openai-python", ""},
    {GENAI, "gen_ai.input.messages", "s:[{\\\"role\\\":\\\"user\\\"}]", ""},
    {GENAI, "gen_ai.operation.name", "s:chat", ""},
    {GENAI, "gen_ai.output.messages", "s:[]", ""},
    {GENAI, "gen_ai.output.type", "s:text", ""},
    {GENAI, "gen_ai.provider.name", "s:openai", ""},
    {GENAI, "gen_ai.request.choice.count", "i:1", ""},
    {GENAI, "gen_ai.request.frequency_penalty", "d:0.1", ""},
    {GENAI, "gen_ai.request.max_tokens", "i:20", ""},
    {GENAI, "gen_ai.request.model", "s:qwen", "m=qwen"},
    {GENAI, "gen_ai.request.presence_penalty", "d:0.1", ""},
    {GENAI, "gen_ai.request.seed", "i:42", ""},
    {GENAI, "gen_ai.request.stop_sequences", "a:###", ""},
    {GENAI, "gen_ai.request.stream", "b:true", ""},
    {GENAI, "gen_ai.request.temperature", "d:0.7", ""},
    {GENAI, "gen_ai.request.top_k", "d:40", ""},
    {GENAI, "gen_ai.request.top_p", "d:0.9", ""},
    {GENAI, "gen_ai.response.finish_reasons", "a:stop", "fin=stop"},
    {GENAI, "gen_ai.response.id", "s:chatcmpl-1", "id=chatcmpl-1"},
    {GENAI, "gen_ai.response.model", "s:qwen-7b", "m=qwen-7b"},
    {GENAI, "gen_ai.response.time_to_first_chunk", "d:0.05", "ttft=50"},
    {GENAI, "gen_ai.system_instructions", "s:be brief", ""},
    {GENAI, "gen_ai.tool.definitions", "s:[]", ""},
    {GENAI, "gen_ai.usage.cache_creation.input_tokens", "i:3", ""},
    {GENAI, "gen_ai.usage.cache_read.input_tokens", "i:4", ""},
    {GENAI, "gen_ai.usage.input_tokens", "i:12", "in=12"},
    {GENAI, "gen_ai.usage.output_tokens", "i:7", "out=7"},
    {GENAI, "gen_ai.usage.reasoning.output_tokens", "i:5", ""},
    {METRIC, "gen_ai.operation.name", "s:chat", ""},
    {METRIC, "gen_ai.provider.name", "s:openai", ""},
    {METRIC, "gen_ai.request.model", "s:qwen", "m=qwen"},
    {METRIC, "gen_ai.response.model", "s:qwen-7b", "m=qwen-7b"},
    {METRIC, "gen_ai.server.request.duration", "d:0.25", ""},
    {METRIC, "gen_ai.server.time_to_first_token", "d:0.05", "ttft=50"},
    {VLLM, "gen_ai.latency.e2e", "d:0.25", "lat=250"},
    {VLLM, "gen_ai.latency.time_in_model_decode", "d:0.01", ""},
    {VLLM, "gen_ai.latency.time_in_model_execute", "d:0.01", ""},
    {VLLM, "gen_ai.latency.time_in_model_forward", "d:0.01", ""},
    {VLLM, "gen_ai.latency.time_in_model_inference", "d:0.01", ""},
    {VLLM, "gen_ai.latency.time_in_model_prefill", "d:0.01", ""},
    {VLLM, "gen_ai.latency.time_in_queue", "d:0.01", ""},
    {VLLM, "gen_ai.latency.time_in_scheduler", "d:0.01", ""},
    {VLLM, "gen_ai.latency.time_to_first_token", "d:0.05", "ttft=50"},
    {VLLM, "gen_ai.request.id", "s:cmpl-9", "id=cmpl-9"},
    {VLLM, "gen_ai.request.max_tokens", "i:20", ""},
    {VLLM, "gen_ai.request.n", "i:1", ""},
    {VLLM, "gen_ai.request.temperature", "d:0.7", ""},
    {VLLM, "gen_ai.request.top_p", "d:0.9", ""},
    {VLLM, "gen_ai.response.model", "s:qwen-7b", "m=qwen-7b"},
    {VLLM, "gen_ai.usage.completion_tokens", "i:7", "out=7"},
    {VLLM, "gen_ai.usage.num_sequences", "i:1", ""},
    {VLLM, "gen_ai.usage.prompt_tokens", "i:12", "in=12"},
};

/* One OTLP/JSON span as an SDK exports it, with the attribute key = value
 * (NULL: none), decoded by the agent's OTLP input into cap. */
static void feed_span(const char *key, const char *value)
{
	char attr[512] = "", body[2048];
	long long t = (long long)clock_now() - 10;
	if (key) {
		const char *v = value + 2;
		switch (value[0]) {
		case 's':
			snprintf(attr, sizeof(attr),
			         "{\"key\":\"%s\",\"value\":{\"stringValue\":\"%s\"}}", key, v);
			break;
		case 'i':
			snprintf(attr, sizeof(attr),
			         "{\"key\":\"%s\",\"value\":{\"intValue\":\"%s\"}}", key, v);
			break;
		case 'd':
			snprintf(attr, sizeof(attr),
			         "{\"key\":\"%s\",\"value\":{\"doubleValue\":%s}}", key, v);
			break;
		case 'b':
			snprintf(attr, sizeof(attr),
			         "{\"key\":\"%s\",\"value\":{\"boolValue\":%s}}", key, v);
			break;
		default:
			snprintf(attr, sizeof(attr),
			         "{\"key\":\"%s\",\"value\":{\"arrayValue\":{\"values\":[{"
			         "\"stringValue\":\"%s\"}]}}}",
			         key, v);
		}
	}
	snprintf(body, sizeof(body),
	         "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
	         "\"value\":{\"stringValue\":\"svc\"}}]},\"scopeSpans\":[{\"spans\":[{"
	         "\"traceId\":\"5b8efff798038103d269b633813fc60c\",\"spanId\":\"eee19b7ec3c1b174\","
	         "\"name\":\"llm_request\",\"kind\":2,\"startTimeUnixNano\":\"%lld000000000\","
	         "\"endTimeUnixNano\":\"%lld500000000\",\"attributes\":[%s]}]}]}]}",
	         t, t, attr);
	struct event_batch eb;
	struct otlp_reply rep;
	size_t sampled;
	event_batch_init(&eb);
	int rc = otlp_decode(OTLP_TRACES, "application/json", NULL, body, strlen(body), clock_now(),
	                     1 << 20, 1000, &eb, &rep);
	cr_expect_eq(rc, 0, "%s: %s", key ? key : "base", rep.message);
	cr_expect_eq(rep.accepted, 1, "%s: %s", key ? key : "base", rep.message);
	emit(NULL, eb.events, eb.n_events, &sampled);
	event_batch_reset(&eb);
}

/* The BASE items whose key the name's expect does not set, after them. */
static void check_name(const struct name_row *nr, size_t base)
{
	char spec[600], label[200];
	snprintf(spec, sizeof(spec), "%s", nr->expect);
	char b[sizeof(BASE)];
	snprintf(b, sizeof(b), "%s", BASE);
	for (char *save = NULL, *it = strtok_r(b, ";", &save); it;
	     it = strtok_r(NULL, ";", &save)) {
		char key[16];
		snprintf(key, sizeof(key), "%.*s=", (int)(strchr(it, '=') - it), it);
		char in[620];
		snprintf(in, sizeof(in), ";%s", nr->expect);
		char k2[20];
		snprintf(k2, sizeof(k2), ";%s", key);
		if (!strstr(in, k2))
			snprintf(spec + strlen(spec), sizeof(spec) - strlen(spec), "%s%s",
			         spec[0] ? ";" : "", it);
	}
	snprintf(label, sizeof(label), "%s: %s", nr->file, nr->name);
	struct row tmp = {.file = label, .expect = spec};
	check(&tmp, base);
}

static void run_names(const struct row *w)
{
	size_t len;
	char *text = slurp(w->file, &len), *copy = strdup(text);
	for (char *save = NULL, *ln = strtok_r(copy, "\n", &save); ln;
	     ln = strtok_r(NULL, "\n", &save)) {
		const struct name_row *nr = NULL;
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && !nr; i++)
			if (!strcmp(names[i].file, w->file) && !strcmp(names[i].name, ln))
				nr = &names[i];
		cr_expect_not_null(nr, "%s: %s is not in names[]", w->file, ln);
		if (!nr)
			continue;
		size_t b = cap.n;
		feed_span(nr->name, nr->value);
		if (cap.n == b + 1)
			check_name(nr, b);
	}
	/* No row of names[] for a name the list does not have. */
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char want[200];
		snprintf(want, sizeof(want), "\n%s\n", names[i].name);
		char *nl = malloc(len + 3);
		snprintf(nl, len + 3, "\n%s", text);
		if (strcmp(names[i].file, w->file) == 0)
			cr_expect(strstr(nl, want), "names[]: %s is not in %s", names[i].name,
			          w->file);
		free(nl);
	}
	free(copy);
	free(text);
}

/* "[" the pair's parts and the file's records "]", as Triton writes one
 * file: "@file" parts are arrays whose records are taken. */
static char *triton_text(const struct row *w)
{
	size_t len;
	if (!w->pair)
		return slurp(w->file, &len);
	char *parts = NULL, spec[400];
	size_t n = 0;
	FILE *m = open_memstream(&parts, &n);
	snprintf(spec, sizeof(spec), "%s+@%s", w->pair, w->file);
	fputc('[', m);
	int k = 0;
	for (char *save = NULL, *it = strtok_r(spec, "+", &save); it;
	     it = strtok_r(NULL, "+", &save), k++) {
		if (k)
			fputc(',', m);
		if (it[0] != '@') {
			fputs(it, m);
			continue;
		}
		char *f = slurp(it + 1, &len), *s = strchr(f, '['), *e = strrchr(f, ']');
		cr_assert(s && e && s < e, "%s is not an array", it + 1);
		fwrite(s + 1, 1, (size_t)(e - s - 1), m);
		free(f);
	}
	fputc(']', m);
	fclose(m);
	return parts;
}

static size_t triton_dropped;
static char triton_reason[256];

static void run_row(const struct row *w)
{
	char err[200];
	struct kserve_options o = {
	    .ttl_s = 1, .max_pending = 100, .max_bytes = 1 << 24, .model_template = "{model_name}"};
	struct kserve *k = kserve_open(&o, emit, NULL, err, sizeof(err));
	struct kserve_result r;
	size_t base = cap.n, len, plen;
	int rc = 0;
	char *body = NULL, *pair = NULL;
	struct wire wires[8];
	int nw = 0;

	cr_assert_not_null(k, "%s", err);
	switch (w->how) {
	case REQ:
	case RESP:
		body = slurp(w->file, &len);
		pair = body_of(w->pair, &plen);
		if (w->how == REQ) {
			rc = send_half(k, "request", w->file, body, len, w->hlen, &r);
			if (rc == 0)
				rc = send_half(k, "response", w->file, pair, plen, w->phlen, &r);
		} else {
			rc = send_half(k, "response", w->file, body, len, w->hlen, &r);
			if (rc == 0)
				rc = send_half(k, "request", w->file, pair, plen, w->phlen, &r);
		}
		break;
	case ELEMENTS: {
		body = slurp(w->file, &len);
		cJSON *arr = cJSON_Parse(body);
		const cJSON *el;
		int i = 0;
		cr_assert(cJSON_IsArray(arr));
		cJSON_ArrayForEach(el, arr)
		{
			char *one = cJSON_PrintUnformatted(el), id[32];
			snprintf(id, sizeof(id), "batch-%d", i++);
			rc = send_half(k, "request", id, one, strlen(one), NULL, &r);
			if (rc == 0)
				rc = send_half(k, "response", id, w->pair, strlen(w->pair), NULL,
				               &r);
			free(one);
			if (rc)
				break;
		}
		cJSON_Delete(arr);
		break;
	}
	case BLOCKS: {
		body = slurp(w->file, &len);
		char *req = nth_block(body, 0), *resp = nth_block(body, 1);
		rc = send_half(k, "request", "oip", req, strlen(req), NULL, &r);
		cr_expect_eq(rc, 0, "%s: the spec's request is valid: %s", w->file, r.error);
		cr_expect_eq(kserve_pending(k), 1);
		/* As printed, the response lacks a comma after "id" : "42". */
		rc = send_half(k, "response", "oip", resp, strlen(resp), NULL, &r);
		free(req);
		free(resp);
		break;
	}
	case CURL: {
		body = slurp(w->file, &len);
		char *s = strstr(body, "-d '"), *e = s ? strchr(s + 4, '\'') : NULL;
		cr_assert(s && e);
		pair = body_of(w->pair, &plen);
		rc = send_half(k, "request", "curl", s + 4, (size_t)(e - s - 4), NULL, &r);
		if (rc == 0)
			rc = send_half(k, "response", "curl", pair, plen, NULL, &r);
		break;
	}
	case DATATYPES: {
		body = slurp(w->file, &len);
		size_t n = 0;
		const char *bytes = "{\"inputs\":[{\"name\":\"t\",\"shape\":[1],\"datatype\":"
		                    "\"BYTES\",\"data\":[\"abc\"]}]}";
		rc = send_half(k, "request", "dt-BYTES", bytes, strlen(bytes), NULL, &r);
		if (rc == 0)
			rc = send_half(k, "response", "dt-BYTES", "{\"predictions\":[1]}", 19, NULL,
			               &r);
		cr_expect_eq(rc, 0, "BYTES: %s", r.error);
		for (char *save = NULL, *ln = strtok_r(body, "\n", &save); ln;
		     ln = strtok_r(NULL, "\n", &save)) {
			char dt[16], b[256], id[32];
			if (sscanf(ln, "%15[A-Z0-9]\t", dt) != 1 || ln[strlen(dt)] != '\t')
				continue;
			const char *v = strcmp(dt, "BOOL") == 0    ? "true"
			                : strcmp(dt, "BYTES") == 0 ? "\"abc\""
			                                           : "7";
			snprintf(b, sizeof(b),
			         "{\"inputs\":[{\"name\":\"t\",\"shape\":[1],\"datatype\":\"%s\","
			         "\"data\":[%s]}]}",
			         dt, v);
			snprintf(id, sizeof(id), "dt-%s", dt);
			rc = send_half(k, "request", id, b, strlen(b), NULL, &r);
			if (rc == 0)
				rc = send_half(k, "response", id, "{\"predictions\":[1]}", 19, NULL,
				               &r);
			cr_expect_eq(rc, 0, "%s: %s", dt, r.error);
			cr_expect_eq(r.accepted, 1, "%s", dt);
			n++;
		}
		/* BOOL, UINT8-64, INT8-64, FP16/32/64, BF16; BYTES (described in the
		 * text, not the table) was sent above. */
		cr_expect_eq(n, 13, "datatypes in the table");
		break;
	}
	case WIRE:
	case DISPLAY:
	case ECHO:
		body = slurp(w->file, &len);
		nw = w->how == WIRE      ? parse_derived(body, wires, 8)
		     : w->how == DISPLAY ? parse_event_display(body, wires, 8)
		                         : parse_node_echo(body, wires, 8);
		cr_assert_gt(nw, 0, "%s: no half found", w->file);
		for (int i = 0; i < nw && rc == 0; i++)
			rc = send_wire(k, &wires[i], &r);
		/* Unpaired halves (request-only loggers) after the TTL. */
		if (rc == 0)
			kserve_expire(k, clock_mono() + 2);
		break;
	case BENTO: {
		char *tmp = h_tmpdir("bento-files"), p[1024];
		size_t sl;
		char *schema = slurp(w->pair, &sl);
		snprintf(p, sizeof(p), "%s/text_summarization", tmp);
		mkdir(p, 0700);
		snprintf(p, sizeof(p), "%s/text_summarization/schema", tmp);
		mkdir(p, 0700);
		snprintf(p, sizeof(p), "%s/text_summarization/schema/schema.0.log", tmp);
		cr_assert_eq(h_write_file(p, schema, sl), 0);
		free(schema);
		snprintf(p, sizeof(p), "%s/text_summarization/data/data.0.log", tmp);
		struct bentoml *bm = bentoml_new(p, err, sizeof(err));
		cr_assert_not_null(bm, "%s", err);
		body = slurp(w->file, &len);
		struct event_batch eb;
		struct event_error ee;
		event_batch_init(&eb);
		for (char *save = NULL, *ln = strtok_r(body, "\n", &save); ln;
		     ln = strtok_r(NULL, "\n", &save)) {
			rc = bentoml_line(bm, ln, strlen(ln), clock_now(), &eb, &ee);
			cr_expect_eq(rc, 0, "%s: %s", w->file, ee.reason);
		}
		size_t sampled;
		emit(NULL, eb.events, eb.n_events, &sampled);
		event_batch_reset(&eb);
		bentoml_free(bm);
		h_rmtree(tmp);
		free(tmp);
		break;
	}
	case TRITON: {
		struct event_batch eb;
		struct triton_report tr;
		size_t used, sampled;
		body = triton_text(w);
		len = strlen(body);
		event_batch_init(&eb);
		cr_assert_eq(
		    triton_parse(body, len, true, clock_now(), clock_mono(), 1000, &eb, &used, &tr),
		    0);
		cr_expect_eq(used, len, "%s: a finished file is read whole", w->file);
		emit(NULL, eb.events, eb.n_events, &sampled);
		event_batch_reset(&eb);
		triton_dropped += tr.tensors_refused;
		if (tr.tensors_refused)
			snprintf(triton_reason, sizeof(triton_reason), "%s", tr.tensor_reason);
		if (tr.refused) {
			rc = -1;
			snprintf(r.field, sizeof(r.field), "%.63s", tr.first.field);
			snprintf(r.error, sizeof(r.error), "%s", tr.first.reason);
		}
		break;
	}
	case TEXTLOG: {
		struct event_batch eb;
		struct event_error ee;
		size_t sampled;
		enum textlog_kind kind =
		    strcmp(w->pair, "torchserve") == 0 ? TEXTLOG_TORCHSERVE : TEXTLOG_RAY_SERVE;
		body = slurp(w->file, &len);
		event_batch_init(&eb);
		textlog_ignored = 0;
		for (char *save = NULL, *ln = strtok_r(body, "\n", &save); ln;
		     ln = strtok_r(NULL, "\n", &save)) {
			int lrc = textlog_line(kind, ln, strlen(ln), clock_now(), &eb, &ee);
			if (lrc == 1)
				textlog_ignored++;
			else if (lrc != 0) {
				rc = -1;
				snprintf(r.field, sizeof(r.field), "%.63s", ee.field);
				snprintf(r.error, sizeof(r.error), "%s", ee.reason);
			}
		}
		emit(NULL, eb.events, eb.n_events, &sampled);
		event_batch_reset(&eb);
		break;
	}
	case OTLP: {
		struct event_batch eb;
		struct otlp_reply orep;
		size_t sampled;
		char *text = slurp(w->file, &len);
		bool logs = strcmp(w->pair, "traces") != 0;
		if (strncmp(w->pair, "record", 6) == 0) {
			char *rec = nth_block(text, 0);
			if (strcmp(w->pair, "record-fixed") == 0) { /* ",\n   }" -> "\n   }" */
				for (char *c = rec; *c; c++) {
					char *n = c + 1;
					while (*n == ' ' || *n == '\n')
						n++;
					if (*c == ',' && *n == '}')
						*c = ' ';
				}
			}
			/* One resourceLogs / scopeLogs / logRecords each. */
			cJSON *rl = cJSON_CreateObject(), *sl = cJSON_CreateObject(),
			      *rec_o = cJSON_CreateObject(), *bd = cJSON_CreateObject();
			cJSON_AddStringToObject(bd, "stringValue", rec);
			cJSON_AddStringToObject(rec_o, "timeUnixNano", "1764071990000000000");
			cJSON_AddItemToObject(rec_o, "body", bd);
			cJSON *recs = cJSON_AddArrayToObject(sl, "logRecords");
			cJSON_AddItemToArray(recs, rec_o);
			cJSON *sls = cJSON_AddArrayToObject(rl, "scopeLogs");
			cJSON_AddItemToArray(sls, sl);
			cJSON *root = cJSON_CreateObject();
			cJSON_AddItemToArray(cJSON_AddArrayToObject(root, "resourceLogs"), rl);
			free(text);
			text = cJSON_PrintUnformatted(root);
			cJSON_Delete(root);
			free(rec);
		}
		body = text;
		event_batch_init(&eb);
		rc = otlp_decode(logs ? OTLP_LOGS : OTLP_TRACES, "application/json", NULL, body,
		                 strlen(body), clock_now(), 1 << 20, 1000, &eb, &orep);
		if (rc != 0) {
			rc = -1;
			snprintf(r.field, sizeof(r.field), "status %u", orep.status);
			snprintf(r.error, sizeof(r.error), "%.255s", orep.message);
		}
		textlog_ignored = orep.ignored;
		emit(NULL, eb.events, eb.n_events, &sampled);
		event_batch_reset(&eb);
		break;
	}
	case NAMES:
		run_names(w);
		break;
	case NOT_INPUT:
		break;
	}
	if (w->events < 0) {
		expect_refusal(w, rc, &r);
	} else {
		cr_expect_eq(rc, 0, "%s: %s (field %s)", w->file, r.error, r.field);
		cr_expect_eq(cap.n - base, (size_t)w->events, "%s: %zu events", w->file,
		             cap.n - base);
		if (rc == 0 && cap.n - base == (size_t)w->events && w->expect[0])
			check(w, base);
	}
	wire_free(wires, nw);
	free(body);
	free(pair);
	kserve_free(k);
}

Test(kserve_files, every_file_gives_what_the_table_says)
{
	stats_reset();
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		run_row(&rows[i]);
	cr_expect_gt(stats_get(ST_KSERVE_BINARY_SKIPPED), 0);
	/* The tensors example's "0.1,0.1,0.1,..." (both of its rows): the
	 * tensor is dropped with the reason, the trace's timing kept. */
	cr_expect_eq(triton_dropped, 2);
	cr_expect(strstr(triton_reason, "id 1 TENSOR_QUEUE_INPUT: tensor input: element 4 \"...\" "
	                                "is not a FP32 number"),
	          "%s", triton_reason);
}

/* The BASE span alone gives exactly BASE: what "ignored" is measured by. */
Test(kserve_files, the_base_span_of_the_name_lists)
{
	size_t b = cap.n;
	feed_span(NULL, NULL);
	cr_assert_eq(cap.n, b + 1);
	struct row tmp = {.file = "base span", .expect = BASE};
	check(&tmp, b);
}

static bool listed(const char *rel)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (strcmp(rows[i].file, rel) == 0)
			return true;
	return false;
}

/* Every file of root (one level of folders, as the testdata is laid out);
 * returns how many were looked at. */
static size_t expect_listed(const char *root, const char *sub)
{
	char path[1200];
	size_t n = 0;
	snprintf(path, sizeof(path), "%s%s%s", root, sub[0] ? "/" : "", sub);
	DIR *dh = opendir(path);
	cr_assert_not_null(dh, "%s", path);
	struct dirent *de;
	while ((de = readdir(dh)) != NULL) {
		char rel[600], full[1900];
		struct stat st;
		if (de->d_name[0] == '.')
			continue;
		snprintf(rel, sizeof(rel), "%s%s%s", sub, sub[0] ? "/" : "", de->d_name);
		snprintf(full, sizeof(full), "%s/%s", path, de->d_name);
		cr_assert_eq(stat(full, &st), 0, "%s", full);
		if (S_ISDIR(st.st_mode) && !sub[0]) {
			n += expect_listed(root, de->d_name);
			continue;
		}
		n++;
		cr_expect(listed(rel), "%s (in %s) is not in the table", rel, root);
	}
	closedir(dh);
	return n;
}

/* A file added to the fixtures, or to the shared testdata they are copied
 * from, must be added to the table. */
Test(kserve_files, every_file_is_in_the_table)
{
	const char *src = getenv("MLWATCH_SRC_DIR");
	char root[1024];
	snprintf(root, sizeof(root), "%s/tests/data/model-servers", src ? src : ".");
	size_t n = expect_listed(root, "");
	cr_expect_geq(n, 68, "%zu files", n);
	/* The shared testdata beside the checkout (../shared from the main
	 * worktree, ../../shared from a helper's), when there is one. */
	const char *up[] = {"..", "../.."};
	for (size_t i = 0; i < 2; i++) {
		struct stat st;
		snprintf(root, sizeof(root), "%s/%s/shared/testdata/model-servers", src ? src : ".",
		         up[i]);
		if (stat(root, &st) == 0 && S_ISDIR(st.st_mode)) {
			expect_listed(root, "");
			break;
		}
	}
}
