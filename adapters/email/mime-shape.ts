/**
 * A cheap look at a message's MIME structure before the full parse: how many parts, how deeply
 * nested (multiparts and embedded messages). One pass over the lines, nothing decoded, and it
 * stops as soon as a limit is passed, so a message built to exhaust the parser costs little.
 */

export interface MimeShape {
  parts: number;
  depth: number;
  /** Which limit the message passes, if any (the scan stops there). */
  exceeds?: 'parts' | 'depth' | undefined;
}

/** Content-Type headers longer than this are not real; the rest of them is ignored. */
const MAX_CONTENT_TYPE_LENGTH = 4096;

const BOUNDARY = /boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))/i;

/** One level of nesting: a multipart (with its delimiter line) or an embedded message. */
type Level = { delimiter: string } | { delimiter: undefined };

function levelFor(contentType: string): Level | undefined {
  const type = contentType.trim().toLowerCase();
  if (type.startsWith('multipart/')) {
    const match = BOUNDARY.exec(contentType);
    const boundary = match?.[1] ?? match?.[2];
    return boundary ? { delimiter: `--${boundary}` } : undefined;
  }
  if (type.startsWith('message/rfc822') || type.startsWith('message/global')) return { delimiter: undefined };
  return undefined;
}

export function mimeShape({ raw, maxParts, maxDepth }: { raw: Buffer; maxParts: number; maxDepth: number }): MimeShape {
  const text = raw.toString('latin1');
  const stack: Level[] = [];
  let parts = 1;
  let depth = 0;
  let inHeaders = true;
  let contentType: string | undefined;
  let inContentType = false;
  let start = 0;

  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    // Body lines matter only when they could be a boundary: skip the rest without copying them.
    if (!inHeaders && !(text.charCodeAt(start) === 45 && text.charCodeAt(start + 1) === 45)) {
      start = end + 1;
      continue;
    }
    const line = text.slice(start, end > start && text.charCodeAt(end - 1) === 13 ? end - 1 : end);
    start = end + 1;

    if (inHeaders) {
      if (line === '') {
        const level = contentType === undefined ? undefined : levelFor(contentType);
        contentType = undefined;
        inContentType = false;
        if (level) {
          stack.push(level);
          depth = Math.max(depth, stack.length);
          if (stack.length > maxDepth) return { parts, depth, exceeds: 'depth' };
        }
        // An embedded message starts with headers of its own.
        inHeaders = level !== undefined && level.delimiter === undefined;
      } else if (inContentType && (line.startsWith(' ') || line.startsWith('\t'))) {
        if (contentType!.length < MAX_CONTENT_TYPE_LENGTH) contentType += line;
      } else {
        inContentType = /^content-type\s*:/i.test(line);
        if (inContentType) contentType = line.slice(line.indexOf(':') + 1);
      }
      continue;
    }

    for (let index = stack.length - 1; index >= 0; index -= 1) {
      const delimiter = stack[index]!.delimiter;
      if (delimiter === undefined || !line.startsWith(delimiter)) continue;
      const rest = line.slice(delimiter.length);
      if (rest.startsWith('--')) {
        stack.length = index;
      } else if (rest.trim() === '') {
        stack.length = index + 1;
        parts += 1;
        if (parts > maxParts) return { parts, depth, exceeds: 'parts' };
        inHeaders = true;
      } else continue;
      break;
    }
  }
  return { parts, depth };
}
