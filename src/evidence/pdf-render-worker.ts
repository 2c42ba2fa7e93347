/** The worker thread of pdf-renderer.ts: renders the receipt PDFs it is asked for, answering each by its id. */
import { parentPort } from 'node:worker_threads';
import { toWaslError } from '../errors.js';
import type { RenderAnswer, RenderRequest } from './pdf-renderer.js';
import { renderReceiptPdf } from './receipt-pdf.js';

const port = parentPort;
if (!port) throw new Error('pdf-render-worker runs as a worker thread of pdf-renderer.ts');

port.on('message', ({ id, input }: RenderRequest) => {
  renderReceiptPdf(input).then(
    (pdf) => port.postMessage({ id, pdf } satisfies RenderAnswer),
    (error: unknown) => {
      const failure = toWaslError(error, 'evidence.pdf_render_failed');
      port.postMessage({ id, error: { code: failure.code, message: failure.message } } satisfies RenderAnswer);
    },
  );
});
