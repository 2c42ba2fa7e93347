/**
 * Renders receipt PDFs on a worker thread, so a render never holds the event loop that takes
 * letters. A subject of 20,000 characters once stalled SMTP and HTTP for 40 s on one GET of its PDF,
 * and SIGTERM waited with them (issue 18); texts are bounded and wrapping is linear now, but a
 * layout engine is a lot of code to trust with any sender's text.
 *
 * Why a worker rather than PDFs rendered once at registration: registering must stay as fast as
 * the disk allows (the PDF is asked for by few senders, in any of three languages, and its render
 * would sit on the intake path of every letter); and a render here can be stopped, where one on
 * the main thread cannot. One worker renders one PDF at a time: renders are short, and the other
 * core stays with intake. Each request has `timeoutMs` from when it is asked, waiting included;
 * past it the request fails as temporary and a render in progress is stopped by terminating the
 * worker (the next render starts a fresh one). `close` stops everything at once, so the gateway
 * stops promptly even during a render.
 */
import { Worker } from 'node:worker_threads';
import { WaslError } from '../errors.js';
import type { ReceiptPdfInput } from './receipt-pdf.js';

export interface PdfRenderer {
  render(input: ReceiptPdfInput): Promise<Buffer>;
  close(): Promise<void>;
}

export interface RenderRequest {
  id: number;
  input: ReceiptPdfInput;
}

export type RenderAnswer = { id: number; pdf: Uint8Array } | { id: number; error: { code: string; message: string } };

interface Job {
  id: number;
  input: ReceiptPdfInput;
  resolve(pdf: Buffer): void;
  reject(error: WaslError): void;
  timer: NodeJS.Timeout;
}

/** A runaway layout meets this before it meets the gateway's memory. */
const WORKER_HEAP_MB = 256;

/**
 * Built, the worker is plain JavaScript beside this file. Run from the TypeScript source (the
 * tests, `tsx`), it is TypeScript: the worker then loads tsx (a dev dependency) before its entry.
 */
function startWorker(): Worker {
  const options = { resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB } };
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./pdf-render-worker.js', import.meta.url), options);
  const entry = JSON.stringify(new URL('./pdf-render-worker.ts', import.meta.url).href);
  return new Worker(`import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${entry}); })`, { ...options, eval: true });
}

export function createPdfRenderer({ timeoutMs }: { timeoutMs: number }): PdfRenderer {
  const queue: Job[] = [];
  let worker: Worker | undefined;
  let current: Job | undefined;
  let nextId = 1;
  let closed = false;

  function settle(job: Job, outcome: { pdf: Buffer } | { error: WaslError }) {
    clearTimeout(job.timer);
    if ('pdf' in outcome) job.resolve(outcome.pdf);
    else job.reject(outcome.error);
  }

  /** The worker is gone (terminated, crashed, out of memory): its render fails, the next one starts a new worker. */
  function drop(error: WaslError) {
    const lost = worker;
    worker = undefined;
    if (lost) void lost.terminate();
    if (current) settle(current, { error });
    current = undefined;
    startNext();
  }

  function workerFor(): Worker {
    if (worker) return worker;
    const started = startWorker();
    // An idle worker does not keep the process alive; the web server does while it serves.
    started.unref();
    started.on('message', (answer: RenderAnswer) => {
      if (started !== worker || current?.id !== answer.id) return;
      const job = current;
      current = undefined;
      settle(job, 'pdf' in answer ? { pdf: Buffer.from(answer.pdf.buffer, answer.pdf.byteOffset, answer.pdf.byteLength) } : { error: new WaslError(answer.error.code, answer.error.message) });
      startNext();
    });
    const lost = (reason: string) => {
      if (started === worker) drop(new WaslError('evidence.pdf_renderer_failed', `the PDF renderer stopped: ${reason}`, { temporary: true }));
    };
    started.on('error', (error: Error) => lost(error.message));
    started.on('exit', (code) => lost(`exit code ${code}`));
    worker = started;
    return started;
  }

  function startNext() {
    if (closed || current) return;
    const job = queue.shift();
    if (!job) return;
    current = job;
    try {
      workerFor().postMessage({ id: job.id, input: job.input } satisfies RenderRequest);
    } catch (error) {
      drop(new WaslError('evidence.pdf_renderer_failed', `the PDF renderer did not start: ${(error as Error).message}`, { temporary: true, cause: error }));
    }
  }

  function timedOut(job: Job) {
    const error = new WaslError('evidence.pdf_timeout', `the PDF was not rendered within ${timeoutMs} ms`, { temporary: true });
    if (current === job) return drop(error);
    const waiting = queue.indexOf(job);
    if (waiting >= 0) queue.splice(waiting, 1);
    settle(job, { error });
  }

  return {
    render(input) {
      if (closed) return Promise.reject(new WaslError('evidence.pdf_renderer_closed', 'the gateway is stopping', { temporary: true }));
      return new Promise<Buffer>((resolve, reject) => {
        const job: Job = { id: nextId++, input, resolve, reject, timer: setTimeout(() => timedOut(job), timeoutMs) };
        queue.push(job);
        startNext();
      });
    },
    async close() {
      closed = true;
      const stopping = new WaslError('evidence.pdf_renderer_closed', 'the gateway is stopping', { temporary: true });
      for (const job of [...queue.splice(0), ...(current ? [current] : [])]) settle(job, { error: stopping });
      current = undefined;
      const running = worker;
      worker = undefined;
      await running?.terminate();
    },
  };
}
