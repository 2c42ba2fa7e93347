/** Builds real MIME messages (nodemailer's composer) for tests to send. */
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import type Mail from 'nodemailer/lib/mailer/index.js';

export function composeMessage(options: Mail.Options): Promise<Buffer> {
  return new MailComposer({ ...options }).compile().build();
}
