/**
 * Attachment names as people see them. The name a sender gave is kept in the register as given
 * (metadata only: contents are stored by hash, never under a name) and cleaned wherever it is
 * shown or offered for saving: forwards on every channel, the receipt page.
 */

/** Control characters (C0, DEL, C1), bidirectional overrides and isolates, zero-width characters. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/g;
/** Reserved in file names on Windows, where department staff save attachments. */
const RESERVED = /[<>:"|?*]/g;
const MAX_FILENAME_LENGTH = 180;

/**
 * The name an attachment is shown and saved under by the department: the sender's name as far as
 * it is harmless. No directories (only the last path segment), no control characters, no
 * right-to-left override hiding the real extension (`facture\u202Efdp.exe`), no leading dots.
 * The name as given stays in the register as metadata only; nothing is ever stored under it.
 */
export function displayFilename({ filename, position }: { filename: string | undefined; position: number }): string {
  const visible = (filename ?? '').normalize('NFC').replace(INVISIBLE, '');
  const lastSegment = visible.split(/[/\\]/).pop() ?? '';
  const cleaned = lastSegment.replace(RESERVED, '_').replace(/\s+/g, ' ').replace(/^[\s.]+/, '').trimEnd();
  if (cleaned === '') return `attachment-${position + 1}`;
  // Counted in code points, so a cut never splits a character.
  const characters = [...cleaned];
  if (characters.length <= MAX_FILENAME_LENGTH) return cleaned;
  const extension = /\.[^.]{1,10}$/u.exec(cleaned)?.[0] ?? '';
  return `${characters.slice(0, MAX_FILENAME_LENGTH - [...extension].length).join('')}${extension}`;
}
