// A real OpenTelemetry client for tests/integration/test_otel_client.c:
// the Node.js SDK (sdk-trace-node) with the OTLP/HTTP protobuf or JSON
// exporter sends N LLM-style server spans with gen_ai.* attributes (vLLM's
// names) to URL/v1/traces, then flushes and exits 0 when every export
// succeeded. The values are a formula of i that the C test recomputes.
// Usage: node client.js URL proto|json N MODEL
'use strict';
const { SpanKind } = require('@opentelemetry/api');
const { NodeTracerProvider, BatchSpanProcessor } = require('@opentelemetry/sdk-trace-node');
const { resourceFromAttributes } = require('@opentelemetry/resources');

const [url, format, nArg, model] = process.argv.slice(2);
const n = parseInt(nArg, 10);
const { OTLPTraceExporter } = require(format === 'proto'
  ? '@opentelemetry/exporter-trace-otlp-proto'
  : '@opentelemetry/exporter-trace-otlp-http');

const exporter = new OTLPTraceExporter({ url: url + '/v1/traces', timeoutMillis: 10000 });
let failed = 0;
const real = exporter.export.bind(exporter);
exporter.export = (spans, done) => real(spans, (r) => {
  if (r.code !== 0) {
    failed++;
    console.error('export failed:', r.error && r.error.message);
  }
  done(r);
});
const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({ 'service.name': 'vllm' }),
  spanProcessors: [new BatchSpanProcessor(exporter, { maxExportBatchSize: 500, maxQueueSize: 100000 })],
});
const tracer = provider.getTracer('mlwatch-test');
const t0 = Date.now() - 20000;
for (let i = 0; i < n; i++) {
  const ttft = 0.05 + ((i * 7919) % 1000) / 10000; // seconds
  const out = 50 + (i % 23);
  const span = tracer.startSpan('llm_request', {
    kind: SpanKind.SERVER,
    startTime: t0 + i,
    attributes: {
      'gen_ai.request.model': model,
      'gen_ai.response.model': model,
      'gen_ai.request.id': 'cmpl-' + i,
      'gen_ai.usage.input_tokens': 10 + (i % 17),
      'gen_ai.usage.output_tokens': out,
      'gen_ai.latency.time_to_first_token': ttft,
      'gen_ai.latency.e2e': ttft + out * 0.01,
      'gen_ai.response.finish_reasons': [i % 5 ? 'stop' : 'length'],
    },
  });
  span.end(t0 + i + 1);
}
provider.forceFlush()
  .then(() => provider.shutdown())
  .then(() => {
    console.log(`sent ${n} spans (${format}), ${failed} failed exports`);
    process.exit(failed ? 1 : 0);
  })
  .catch((e) => {
    console.error(e);
    process.exit(2);
  });
