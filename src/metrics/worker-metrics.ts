/**
 * /metrics under `wasl start --workers N`: whichever worker the connection reaches answers for all
 * of them, since a scrape cannot pick its worker. It asks the primary, which gathers every worker's
 * registries with prom-client's cluster aggregation (counters and histograms summed, each metric
 * by its own aggregator) and hands the text back.
 */
import cluster from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';

const REQUEST = 'wasl:metrics-request';
const ANSWER = 'wasl:metrics-answer';

type Request = { type: typeof REQUEST; id: number };
type Answer = { type: typeof ANSWER; id: number; text?: string; error?: string };

const isRequest = (message: unknown): message is Request => (message as Request | null)?.type === REQUEST;
const isAnswer = (message: unknown): message is Answer => (message as Answer | null)?.type === ANSWER;

/** In the primary: answers each worker's request with the metrics of all. */
export function gatherMetricsForWorkers(): void {
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker, message: unknown) => {
    if (!isRequest(message)) return;
    const answer = (fields: Omit<Answer, 'type' | 'id'>): void => {
      // The worker may have died meanwhile: nobody waits for this answer any more.
      if (worker.isConnected()) worker.send({ type: ANSWER, id: message.id, ...fields });
    };
    aggregator.clusterMetrics().then(
      (text) => answer({ text }),
      (error: unknown) => answer({ error: (error as Error).message }),
    );
  });
}

/** In a worker: offers its registries to the primary's gathering, and gives the scrape that answers for all workers. */
export function scrapeAcrossWorkers(registries: Registry[]): () => Promise<string> {
  AggregatorRegistry.setRegistries(registries);
  // Constructed for its side effect: in a worker, prom-client then answers the primary's requests for these registries.
  new AggregatorRegistry();
  const waiting = new Map<number, { resolve: (text: string) => void; reject: (error: Error) => void }>();
  let next = 0;
  process.on('message', (message: unknown) => {
    if (!isAnswer(message)) return;
    const request = waiting.get(message.id);
    waiting.delete(message.id);
    if (message.text !== undefined) request?.resolve(message.text);
    else request?.reject(new Error(`the metrics of the other workers could not be gathered: ${message.error ?? 'no answer'}`));
  });
  return () =>
    new Promise<string>((resolve, reject) => {
      const id = next++;
      waiting.set(id, { resolve, reject });
      process.send!({ type: REQUEST, id } satisfies Request, undefined, {}, (error: Error | null) => {
        if (!error) return;
        waiting.delete(id);
        reject(error);
      });
    });
}
