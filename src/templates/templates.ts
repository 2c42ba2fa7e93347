/**
 * Every text a person reads comes from templates/ (Handlebars). Mails are whole texts per
 * language (`receipt-mail.fr.txt`: a `Subject:` line, a blank line, the body) so translators
 * work on real sentences; pages share one HTML structure and take their words from
 * `strings.<lang>.yaml`, so the three languages cannot drift apart in layout.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Handlebars from 'handlebars';
import { parse } from 'yaml';
import { isRightToLeft, LANGUAGES, type Language } from '../config/config.schema.js';
import { isolate } from '../evidence/bidi-text.js';
import { TEMPLATES_DIR } from '../paths.js';
import { forDisplay } from './display-text.js';
import { oneLine } from './header-text.js';

export type MailTemplate = 'receipt-mail' | 'forward-mail' | 'answer-mail' | 'answer-sent-mail';
export type PageTemplate = 'receipt-page' | 'mailbox-page' | 'home-page';

export interface RenderedMail {
  subject: string;
  text: string;
}

export type Strings = Record<string, unknown>;

export interface Templates {
  mail(input: { name: MailTemplate; language: Language; view: object }): RenderedMail;
  page(input: { name: PageTemplate; language: Language; view: object }): string;
  strings(language: Language): Strings;
  /** CSP sources (`'sha256-…'`) of the pages' inline styles: the only style, and no script, a page carries. */
  pageStyleSources: readonly string[];
}

export function isLanguage(value: string | undefined): value is Language {
  return (LANGUAGES as readonly string[]).includes(value ?? '');
}

/** A web or mail address alone: what mail and chat clients turn into a link. */
const LINK = /^(?:https?:\/\/\S+|[^\s@<>]+@[^\s@<>]+)$/i;

/**
 * A value as a right-to-left text quotes it: set apart in a bidi isolate, so it reads in its own
 * direction. Unisolated, a number like 2026-A-000123 inside an Arabic sentence is shown as
 * A-000123-2026. Left as they are: a value of several lines (a letter's text: an isolate ends with
 * its line), and links (a client's linkifier may take the invisible mark into the address, and
 * the receipt link would break; a link is one left-to-right run anyway). Left-to-right texts quote
 * values as they are.
 */
export function quoted(value: string, language: Language): string {
  return isRightToLeft(language) && !value.includes('\n') && !LINK.test(value) ? isolate(value) : value;
}

/** The one value of a mail that keeps its lines: the letter's text. Every other value is one line wherever it stands. */
const MULTI_LINE_VALUES = new Set(['body']);

/**
 * Each value in a mail's subject line is cut at this many characters. RFC 5322 sets no limit (the
 * line is folded), but clients show about 80 and some keep 255; a receipt in three languages repeats
 * the subject three times. The register, the forward's text and the receipt page keep it whole.
 */
const SUBJECT_VALUE_LIMIT = 200;

/** A mail template: its `Subject:` line and its body, compiled apart so no value can move the line between them. */
interface MailParts {
  subject: Handlebars.TemplateDelegate;
  body: Handlebars.TemplateDelegate;
}

/**
 * The hashes a Content-Security-Policy names to allow a page's inline `<style>` blocks and nothing
 * else (CSP Level 3, hash-source). A block must be static: one that Handlebars fills in has no
 * hash known in advance.
 */
function styleSources(layout: string): string[] {
  return [...layout.matchAll(/<style>([\s\S]*?)<\/style>/g)].map(([, css = '']) => {
    if (css.includes('{{')) throw new Error('templates/layout.html: a <style> block must be static (the Content-Security-Policy names its hash)');
    return `'sha256-${createHash('sha256').update(css).digest('base64')}'`;
  });
}

/** Loads and compiles every template once, at start, so a broken template stops the gateway early. */
export function loadTemplates(directory = TEMPLATES_DIR): Templates {
  const text = Handlebars.create();
  const html = Handlebars.create();
  const layout = readFileSync(join(directory, 'layout.html'), 'utf8');
  html.registerPartial('layout', layout);
  for (const helpers of [text, html]) {
    helpers.registerHelper('eq', (left: unknown, right: unknown) => left === right);
  }

  const strings = new Map<Language, Strings>();
  const mails = new Map<string, MailParts>();
  const mailNames: MailTemplate[] = ['receipt-mail', 'forward-mail', 'answer-mail', 'answer-sent-mail'];
  for (const language of LANGUAGES) {
    strings.set(language, parse(readFileSync(join(directory, `strings.${language}.yaml`), 'utf8')) as Strings);
    for (const name of mailNames) {
      const source = readFileSync(join(directory, `${name}.${language}.txt`), 'utf8');
      const parts = /^Subject: (.*)\r?\n\r?\n([\s\S]*)$/.exec(source);
      if (!parts) throw new Error(`template ${name}.${language}.txt must start with a "Subject:" line and a blank line`);
      mails.set(`${name}.${language}`, { subject: text.compile(parts[1]!, { noEscape: true }), body: text.compile(parts[2]!, { noEscape: true }) });
    }
  }
  const pages = new Map<PageTemplate, Handlebars.TemplateDelegate>();
  for (const name of ['receipt-page', 'mailbox-page', 'home-page'] as const) {
    pages.set(name, html.compile(readFileSync(join(directory, `${name}.html`), 'utf8')));
  }

  return {
    strings: (language) => strings.get(language)!,
    pageStyleSources: styleSources(layout),
    mail({ name, language, view }) {
      const template = mails.get(`${name}.${language}`)!;
      // A person's text can hold anything (a decoded "\r\nBcc: …", 100 KB without a space): each
      // value is made one line before it is inserted, so the subject is one line whatever it holds.
      // A value is prepared when the template reads it, not before: a subject line reads three or
      // four, and preparing them all cut the letter's whole text for display too, for nothing
      // (0.15 ms and 100 KB of garbage a message, bench/RESULTS.md "Memory under load").
      const values = (prepare: (key: string, value: string) => string) => {
        const prepared: Record<string, unknown> = { t: strings.get(language) };
        for (const [key, value] of Object.entries(view)) {
          if (key === 't') continue;
          if (typeof value === 'string') Object.defineProperty(prepared, key, { enumerable: true, get: () => quoted(prepare(key, value), language) });
          else prepared[key] = value;
        }
        return prepared;
      };
      const subject = oneLine(template.subject(values((_key, value) => forDisplay(oneLine(value), SUBJECT_VALUE_LIMIT))));
      const body = template.body(values((key, value) => (MULTI_LINE_VALUES.has(key) ? value : oneLine(value))));
      return { subject, text: body.replace(/\n{3,}/g, '\n\n') };
    },
    page({ name, language, view }) {
      return pages.get(name)!({ ...view, t: strings.get(language), lang: language, dir: isRightToLeft(language) ? 'rtl' : 'ltr' });
    },
  };
}
