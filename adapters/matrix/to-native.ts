/**
 * wasl messages to Matrix event contents, without I/O: the notices the bot posts (forwards,
 * receipts, answers, its answers to commands), file events, thread relations, and the words of
 * the bot in the gateway's languages. Everything the bot posts is an `m.notice`, the message type
 * for automated messages (spec: "m.notice"), so other bots do not answer it and no loop starts.
 */
import type { Attachment, DepartmentView, LetterStatus, LetterSummary, OutboundMessage } from '../../src/channels/port.js';

export type Content = Record<string, unknown>;
export type BotLanguage = 'ar' | 'fr' | 'en';

/**
 * A thread reply (spec: "Threading"). `is_falling_back` with `m.in_reply_to` lets clients without
 * thread support show it as a reply to the root.
 */
export function threadRelation(rootEventId: string): Content {
  return { rel_type: 'm.thread', event_id: rootEventId, is_falling_back: true, 'm.in_reply_to': { event_id: rootEventId } };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

export function noticeContent({ text, heading, thread }: { text: string; heading?: string | undefined; thread?: string | undefined }): Content {
  const content: Content = { msgtype: 'm.notice', body: heading ? `${heading}\n\n${text}` : text };
  if (heading) {
    content.format = 'org.matrix.custom.html';
    content.formatted_body = `<strong>${escapeHtml(heading)}</strong><br><br>${escapeHtml(text).replace(/\r?\n/g, '<br>')}`;
  }
  if (thread) content['m.relates_to'] = threadRelation(thread);
  return content;
}

export function fileContent({ attachment, mxc, thread }: { attachment: Attachment; mxc: string; thread: string }): Content {
  const filename = attachment.filename ?? 'file';
  return {
    msgtype: attachment.contentType.startsWith('image/') ? 'm.image' : 'm.file',
    body: filename,
    filename,
    url: mxc,
    info: { mimetype: attachment.contentType, size: attachment.content.byteLength },
    'm.relates_to': threadRelation(thread),
  };
}

/**
 * Transaction ids stable across the outbox's attempts: the homeserver answers a repeated PUT with
 * the event it already created (spec: "Transaction identifiers"), so a retry after a lost reply
 * never posts twice.
 */
export function transactionId({ deliveryId, part }: { deliveryId: number; part: 'message' | number }): string {
  return part === 'message' ? `wasl-d${deliveryId}` : `wasl-d${deliveryId}-f${part}`;
}

export function replyTransactionId(eventId: string): string {
  return `wasl-r${eventId}`;
}

const WORDS = {
  fr: {
    answerHint: 'Pour répondre à l’expéditeur, répondez dans le fil de ce message.',
    help: (prefix: string) =>
      [
        'Commandes du bureau d’ordre :',
        `• ${prefix} send SERVICE Objet — puis le texte du courrier sur les lignes suivantes. Pour joindre des fichiers, envoyez-les d’abord puis écrivez la commande dans le fil du premier fichier (ou en légende d’un fichier).`,
        `• ${prefix} status NUMÉRO — où en est un courrier.`,
        `• ${prefix} help — cette aide.`,
      ].join('\n'),
    departments: 'Services',
    unknownDepartment: (code: string) => `Aucun service ne s’appelle « ${code} » : rien n’a été enregistré.`,
    empty: 'Le courrier est vide : écrivez son texte sous la ligne de commande, ou joignez des fichiers. Rien n’a été enregistré.',
    tooLarge: (limit: string) => `Un fichier dépasse la taille permise (${limit}) : rien n’a été enregistré.`,
    refused: (code: string) => `Le courrier n’a pas pu être enregistré (${code}). Rien n’a été enregistré.`,
    unknownLetter: (number: string) => `Aucun courrier ne porte le numéro ${number}.`,
    encrypted: 'Ce salon est chiffré : le bureau d’ordre ne peut pas lire ses messages. Écrivez-lui dans un salon non chiffré.',
    status: (number: string, status: string, departments: string, date: string) => `Courrier ${number} : ${status}. Service : ${departments}. Enregistré le ${date}.`,
    subject: 'Objet',
    receipt: 'Accusé de réception',
    statuses: { registered: 'enregistré', forwarded: 'transmis au service', acknowledged: 'pris en charge', transferred: 'réorienté', answered: 'répondu', closed: 'clos' },
  },
  en: {
    answerHint: 'To answer the sender, reply in the thread of this message.',
    help: (prefix: string) =>
      [
        'Mail office commands:',
        `• ${prefix} send DEPARTMENT Subject — then the letter's text on the following lines. To attach files, post them first, then write the command in the thread of the first file (or as a file's caption).`,
        `• ${prefix} status NUMBER — where a letter stands.`,
        `• ${prefix} help — this help.`,
      ].join('\n'),
    departments: 'Departments',
    unknownDepartment: (code: string) => `No department is called "${code}": nothing was registered.`,
    empty: 'The letter is empty: write its text below the command line, or attach files. Nothing was registered.',
    tooLarge: (limit: string) => `A file is larger than allowed (${limit}): nothing was registered.`,
    refused: (code: string) => `The letter could not be registered (${code}). Nothing was registered.`,
    unknownLetter: (number: string) => `No letter has the number ${number}.`,
    encrypted: 'This room is encrypted: the mail office cannot read its messages. Please write to it in an unencrypted room.',
    status: (number: string, status: string, departments: string, date: string) => `Letter ${number}: ${status}. Department: ${departments}. Registered on ${date}.`,
    subject: 'Subject',
    receipt: 'Receipt',
    statuses: { registered: 'registered', forwarded: 'forwarded to the department', acknowledged: 'acknowledged', transferred: 'transferred', answered: 'answered', closed: 'closed' },
  },
  ar: {
    answerHint: 'للرد على المرسل، أجب في سلسلة هذه الرسالة.',
    help: (prefix: string) =>
      [
        'أوامر مكتب الضبط:',
        `• ${prefix} send المصلحة الموضوع — ثم نص المراسلة في الأسطر التالية. لإرفاق ملفات، أرسلها أولا ثم اكتب الأمر في سلسلة الملف الأول (أو كتعليق على ملف).`,
        `• ${prefix} status الرقم — وضعية مراسلة.`,
        `• ${prefix} help — هذه المساعدة.`,
      ].join('\n'),
    departments: 'المصالح',
    unknownDepartment: (code: string) => `لا توجد مصلحة باسم «${code}»: لم يسجل أي شيء.`,
    empty: 'المراسلة فارغة: اكتب نصها تحت سطر الأمر أو أرفق ملفات. لم يسجل أي شيء.',
    tooLarge: (limit: string) => `أحد الملفات يتجاوز الحجم المسموح به (${limit}): لم يسجل أي شيء.`,
    refused: (code: string) => `تعذر تسجيل المراسلة (${code}). لم يسجل أي شيء.`,
    unknownLetter: (number: string) => `لا توجد مراسلة تحمل الرقم ${number}.`,
    encrypted: 'هذه الغرفة مشفرة: لا يستطيع مكتب الضبط قراءة رسائلها. يرجى مراسلته في غرفة غير مشفرة.',
    status: (number: string, status: string, departments: string, date: string) => `المراسلة ${number}: ${status}. المصلحة: ${departments}. سجلت في ${date}.`,
    subject: 'الموضوع',
    receipt: 'وصل الاستلام',
    statuses: { registered: 'مسجلة', forwarded: 'محالة على المصلحة', acknowledged: 'قيد المعالجة', transferred: 'محولة', answered: 'تم الرد عليها', closed: 'مغلقة' },
  },
} satisfies Record<BotLanguage, unknown>;

export function botLanguage(language: string): BotLanguage {
  return language === 'ar' || language === 'en' ? language : 'fr';
}

/** The notice for a forward, a receipt or an answer; the forward tells the department how to answer. */
export function outboundNotice({ message, language }: { message: OutboundMessage; language: BotLanguage }): Content {
  const forward = message.kind === 'forward';
  const text = forward ? `${message.text.trimEnd()}\n\n${WORDS[language].answerHint}` : message.text.trimEnd();
  return noticeContent({ heading: message.subject, text, thread: forward ? undefined : message.to.thread });
}

/** "Label: value", with the space French typography puts before the colon. */
function labelled({ label, value, language }: { label: string; value: string; language: BotLanguage }): string {
  return `${label}${language === 'fr' ? ' :' : ':'} ${value}`;
}

function departmentList({ departments, language }: { departments: readonly DepartmentView[]; language: BotLanguage }): string {
  const names = departments.map((department) => `${department.code} (${department.names[language] ?? department.code})`);
  return labelled({ label: WORDS[language].departments, value: names.join(', '), language });
}

export function helpText({ prefix, departments, language }: { prefix: string; departments: readonly DepartmentView[]; language: BotLanguage }): string {
  return `${WORDS[language].help(prefix)}\n${departmentList({ departments, language })}`;
}

export function encryptedRoomText(language: BotLanguage): string {
  return WORDS[language].encrypted;
}

export type Refusal =
  | { reason: 'unknown-department'; department: string }
  | { reason: 'empty' }
  | { reason: 'too-large'; limitBytes: number }
  | { reason: 'other'; code: string };

export function refusalText({ refusal, departments, language }: { refusal: Refusal; departments: readonly DepartmentView[]; language: BotLanguage }): string {
  const words = WORDS[language];
  switch (refusal.reason) {
    case 'unknown-department':
      return `${words.unknownDepartment(refusal.department)}\n${departmentList({ departments, language })}`;
    case 'empty':
      return words.empty;
    case 'too-large':
      return words.tooLarge(`${Math.floor(refusal.limitBytes / (1024 * 1024))} MB`);
    case 'other':
      return words.refused(refusal.code);
  }
}

/**
 * Where a letter stands. Anyone may ask by number, but only the letter's own sender sees its
 * subject and receipt link: the number is guessable, the receipt link is a secret.
 */
export function statusText({
  number,
  letter,
  askedBy,
  language,
  timezone,
}: {
  number: string;
  letter: LetterSummary | undefined;
  askedBy: string;
  language: BotLanguage;
  timezone: string;
}): string {
  const words = WORDS[language];
  if (!letter) return words.unknownLetter(number);
  const date = new Intl.DateTimeFormat(language === 'ar' ? 'ar-MA' : language, { dateStyle: 'long', timeStyle: 'short', timeZone: timezone }).format(letter.registeredAt);
  const status = words.statuses[letter.status satisfies LetterStatus];
  const lines = [words.status(letter.number, status, letter.departments.join(', '), date)];
  if (letter.channel === 'matrix' && letter.sender.id === askedBy) {
    if (letter.subject) lines.push(labelled({ label: words.subject, value: letter.subject, language }));
    lines.push(labelled({ label: words.receipt, value: letter.receiptUrl, language }));
  }
  return lines.join('\n');
}
