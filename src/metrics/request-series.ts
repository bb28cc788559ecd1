import client from 'prom-client';

export const REQUESTS_TOTAL = 'ascently_http_requests_total';
export const REQUEST_SECONDS = 'ascently_http_request_duration_seconds';
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

interface Labels {
  route: string;
  method: string;
  status_class: string;
}

interface Tally {
  labels: Labels;
  count: number;
  sum: number;
  /** Observations per bucket, not yet cumulative; the last slot is +Inf. */
  buckets: Float64Array;
}

/**
 * The request counter and duration histogram, kept as plain numbers and handed
 * to prom-client's registry, which formats them, only when scraped. prom-client's
 * own Counter and Histogram hash their labels on every update: several
 * microseconds a request, a tenth of what a /health answer costs. Here a request
 * is one map lookup and four additions.
 */
export class RequestSeries {
  /** Every series, for the scrape. */
  private readonly tallies = new Map<string, Tally>();
  /**
   * route → method → status → tally. Nested, with the strings the request already
   * has as keys: their hashes are cached, where a key concatenated per request
   * would be hashed anew each time.
   */
  private readonly byRoute = new Map<string, Map<string, Map<number, Tally>>>();

  constructor(registry: client.Registry) {
    const tallies = this.tallies;
    const metric = (name: string, help: string, type: 'counter' | 'histogram', values: () => client.MetricValueWithName<string>[]) => ({
      name,
      help,
      type,
      aggregator: 'sum',
      get: async () => ({ name, help, type, aggregator: 'sum', values: values() }),
      reset: () => {
        tallies.clear();
        this.byRoute.clear();
      },
    });
    const register = (m: ReturnType<typeof metric>): void => registry.registerMetric(m as unknown as client.Metric);
    register(metric(REQUESTS_TOTAL, 'HTTP requests answered, by route pattern, method and status class.', 'counter', () => [...tallies.values()].map((t) => ({ labels: { ...t.labels }, value: t.count }))));
    register(
      metric(REQUEST_SECONDS, 'Time from request to answer sent, by route pattern, method and status class.', 'histogram', () =>
        [...tallies.values()].flatMap((t) => histogramValues(t)),
      ),
    );
  }

  record(route: string, method: string, status: number, seconds: number): void {
    let byMethod = this.byRoute.get(route);
    if (!byMethod) this.byRoute.set(route, (byMethod = new Map()));
    let byStatus = byMethod.get(method);
    if (!byStatus) byMethod.set(method, (byStatus = new Map()));
    let tally = byStatus.get(status);
    if (!tally) byStatus.set(status, (tally = this.tallyFor(route, method, status)));
    tally.count += 1;
    tally.sum += seconds;
    let i = 0;
    while (i < BUCKETS.length && seconds > BUCKETS[i]!) i++;
    tally.buckets[i]! += 1;
  }

  /** Bounded: routes are patterns, methods a fixed set, statuses three digits; 200 and 204 share one series (2xx). */
  private tallyFor(route: string, method: string, status: number): Tally {
    const labels = { route, method: KNOWN_METHODS.has(method) ? method : 'other', status_class: `${Math.floor(status / 100)}xx` };
    const key = `${labels.route} ${labels.method} ${labels.status_class}`;
    let tally = this.tallies.get(key);
    if (!tally) this.tallies.set(key, (tally = { labels, count: 0, sum: 0, buckets: new Float64Array(BUCKETS.length + 1) }));
    return tally;
  }
}

function histogramValues(t: Tally): client.MetricValueWithName<string>[] {
  const name = REQUEST_SECONDS;
  let cumulative = 0;
  const values = BUCKETS.map((le, i) => {
    cumulative += t.buckets[i]!;
    return { metricName: `${name}_bucket`, labels: { le, ...t.labels }, value: cumulative };
  });
  values.push({ metricName: `${name}_bucket`, labels: { le: '+Inf', ...t.labels } as never, value: t.count });
  return [...values, { metricName: `${name}_sum`, labels: { ...t.labels }, value: t.sum } as never, { metricName: `${name}_count`, labels: { ...t.labels }, value: t.count } as never];
}
