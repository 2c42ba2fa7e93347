/**
 * What the Slack adapter says to people, in the three languages of wasl. Whole sentences per
 * language so translators work on real text; `{name}` placeholders are filled by `say`.
 * Letters themselves (forwards, receipts, answers) are rendered by the core from templates/.
 */
import type { LetterAction, LetterStatus } from '../../src/channels/port.js';

export const SLACK_LANGUAGES = ['ar', 'fr', 'en'] as const;
export type SlackLanguage = (typeof SLACK_LANGUAGES)[number];

interface Phrases {
  help: string;
  unknownCommand: string;
  unknownDepartment: string;
  unknownNumber: string;
  missingNumber: string;
  sendUsage: string;
  emptyBody: string;
  registered: string;
  alreadyRegistered: string;
  answerRegistered: string;
  notRegistered: string;
  tooLarge: string;
  fileUnreadable: string;
  modalUnavailable: string;
  noDepartmentHere: string;
  listEmpty: string;
  listHeading: string;
  statusLine: string;
  statusDepartments: string;
  modalTitle: string;
  modalSubmit: string;
  modalCancel: string;
  modalDone: string;
  fieldDepartment: string;
  fieldDepartmentPlaceholder: string;
  fieldSubject: string;
  fieldBody: string;
  fieldFiles: string;
  receiptLink: string;
  forwardHeading: string;
  forwardFrom: string;
  forwardSubject: string;
  forwardFiles: string;
  forwardReplyHint: string;
  acknowledge: string;
  transferTo: string;
  close: string;
  acknowledged: string;
  transferred: string;
  closed: string;
  actionRefused: string;
  answerNotRegistered: string;
  status: Record<LetterStatus, string>;
}

const PHRASES: Record<SlackLanguage, Phrases> = {
  fr: {
    help: [
      '*{command} send* : ouvre un formulaire pour envoyer un courrier à un service (objet, texte, pièces jointes).',
      '*{command} send SERVICE objet* : envoie directement ; le texte suit sur les lignes suivantes.',
      '*{command} status NUMÉRO* : où en est un courrier.',
      "*{command} list* : les courriers ouverts du service de ce canal.",
      '*{command} help* : cette aide.',
      'Services : {departments}',
    ].join('\n'),
    unknownCommand: "Je ne connais pas « {word} ». Tapez *{command} help* pour l'aide.",
    unknownDepartment: "Aucun service n'a le code « {department} ». Services : {departments}",
    unknownNumber: "Aucun courrier n'a le numéro « {number} ».",
    missingNumber: 'Indiquez le numéro du courrier, par exemple *{command} status 2026-A-000123*.',
    sendUsage: 'Écrivez *{command} send SERVICE objet*, puis le texte sur les lignes suivantes, ou *{command} send* seul pour le formulaire.',
    emptyBody: 'Le courrier est vide : écrivez un objet ou un texte.',
    registered: 'Votre courrier est enregistré sous le numéro *{number}* et transmis à : {departments}.',
    alreadyRegistered: 'Ce courrier était déjà enregistré sous le numéro *{number}*.',
    answerRegistered: 'Votre réponse est enregistrée sous le numéro *{number}* ; elle est envoyée à l’expéditeur du courrier {answers}.',
    notRegistered: "Votre courrier n'a pas pu être enregistré pour l'instant ; rien n'a été gardé. Réessayez dans un moment.",
    tooLarge: "Ce courrier est trop volumineux ({size}) : la limite est {limit}. Rien n'a été gardé.",
    fileUnreadable: "Slack ne nous a pas laissé lire une pièce jointe ; rien n'a été gardé. Joignez le fichier de nouveau depuis votre ordinateur.",
    modalUnavailable: "Le formulaire n'a pas pu s'ouvrir. Réessayez, ou écrivez *{command} send SERVICE objet*.",
    noDepartmentHere: "Ce canal n'est le canal d'aucun service : *{command} list* s'utilise dans le canal d'un service.",
    listEmpty: 'Aucun courrier ouvert pour {department}.',
    listHeading: 'Courriers ouverts pour {department} :',
    statusLine: '*{number}* — {status} — enregistré le {date}',
    statusDepartments: 'Traité par : {departments}',
    modalTitle: 'Envoyer un courrier',
    modalSubmit: 'Envoyer',
    modalCancel: 'Annuler',
    modalDone: 'Courrier enregistré',
    fieldDepartment: 'Service destinataire',
    fieldDepartmentPlaceholder: 'Choisir un service',
    fieldSubject: 'Objet',
    fieldBody: 'Texte',
    fieldFiles: 'Pièces jointes',
    receiptLink: 'Accusé de réception',
    forwardHeading: 'Courrier {number}',
    forwardFrom: 'De',
    forwardSubject: 'Objet',
    forwardFiles: 'Pièces jointes : {count} (dans le fil)',
    forwardReplyHint: "Pour répondre à l'expéditeur, répondez dans le fil de ce message.",
    acknowledge: 'Prendre en charge',
    transferTo: 'Réorienter vers…',
    close: 'Clore',
    acknowledged: 'Pris en charge par {actor} le {date}',
    transferred: 'Réorienté vers {department} par {actor} le {date}',
    closed: 'Clos par {actor} le {date}',
    actionRefused: "L'action n'a pas pu être enregistrée : {reason}",
    answerNotRegistered: "Votre réponse n'a pas pu être enregistrée ; rien n'a été envoyé. Réessayez dans un moment.",
    status: {
      registered: 'enregistré',
      forwarded: 'transmis au service',
      acknowledged: 'pris en charge',
      transferred: 'réorienté',
      answered: 'répondu',
      closed: 'clos',
    },
  },
  en: {
    help: [
      '*{command} send*: opens a form to send a letter to a department (subject, text, attachments).',
      '*{command} send DEPARTMENT subject*: sends at once; the text follows on the next lines.',
      '*{command} status NUMBER*: where a letter stands.',
      "*{command} list*: the open letters of this channel's department.",
      '*{command} help*: this help.',
      'Departments: {departments}',
    ].join('\n'),
    unknownCommand: 'I do not know "{word}". Type *{command} help* for help.',
    unknownDepartment: 'No department has the code "{department}". Departments: {departments}',
    unknownNumber: 'No letter has the number "{number}".',
    missingNumber: 'Give the letter number, for example *{command} status 2026-A-000123*.',
    sendUsage: 'Write *{command} send DEPARTMENT subject*, then the text on the next lines, or just *{command} send* for the form.',
    emptyBody: 'The letter is empty: write a subject or a text.',
    registered: 'Your letter is registered as *{number}* and forwarded to: {departments}.',
    alreadyRegistered: 'This letter was already registered as *{number}*.',
    answerRegistered: 'Your answer is registered as *{number}*; it is on its way to the sender of letter {answers}.',
    notRegistered: 'Your letter could not be registered right now; nothing was kept. Please try again in a moment.',
    tooLarge: 'This letter is too large ({size}): the limit is {limit}. Nothing was kept.',
    fileUnreadable: 'Slack did not let us read an attachment; nothing was kept. Attach the file again from your computer.',
    modalUnavailable: 'The form could not open. Try again, or write *{command} send DEPARTMENT subject*.',
    noDepartmentHere: "This channel is no department's channel: use *{command} list* in a department's channel.",
    listEmpty: 'No open letters for {department}.',
    listHeading: 'Open letters for {department}:',
    statusLine: '*{number}* — {status} — registered on {date}',
    statusDepartments: 'Handled by: {departments}',
    modalTitle: 'Send a letter',
    modalSubmit: 'Send',
    modalCancel: 'Cancel',
    modalDone: 'Letter registered',
    fieldDepartment: 'Department',
    fieldDepartmentPlaceholder: 'Choose a department',
    fieldSubject: 'Subject',
    fieldBody: 'Text',
    fieldFiles: 'Attachments',
    receiptLink: 'Receipt',
    forwardHeading: 'Letter {number}',
    forwardFrom: 'From',
    forwardSubject: 'Subject',
    forwardFiles: 'Attachments: {count} (in the thread)',
    forwardReplyHint: 'To answer the sender, reply in the thread of this message.',
    acknowledge: 'Acknowledge',
    transferTo: 'Transfer to…',
    close: 'Close',
    acknowledged: 'Acknowledged by {actor} on {date}',
    transferred: 'Transferred to {department} by {actor} on {date}',
    closed: 'Closed by {actor} on {date}',
    actionRefused: 'The action could not be recorded: {reason}',
    answerNotRegistered: 'Your answer could not be registered; nothing was sent. Please try again in a moment.',
    status: {
      registered: 'registered',
      forwarded: 'forwarded to the department',
      acknowledged: 'acknowledged',
      transferred: 'transferred',
      answered: 'answered',
      closed: 'closed',
    },
  },
  ar: {
    help: [
      '*{command} send*: يفتح استمارة لإرسال مراسلة إلى مصلحة (الموضوع، النص، المرفقات).',
      '*{command} send المصلحة الموضوع*: يرسل مباشرة؛ ويأتي النص في الأسطر التالية.',
      '*{command} status الرقم*: أين وصلت مراسلة.',
      '*{command} list*: المراسلات المفتوحة لمصلحة هذه القناة.',
      '*{command} help*: هذه المساعدة.',
      'المصالح: {departments}',
    ].join('\n'),
    unknownCommand: 'لا أعرف «{word}». اكتب *{command} help* للمساعدة.',
    unknownDepartment: 'لا توجد مصلحة بالرمز «{department}». المصالح: {departments}',
    unknownNumber: 'لا توجد مراسلة بالرقم «{number}».',
    missingNumber: 'اذكر رقم المراسلة، مثلا *{command} status 2026-A-000123*.',
    sendUsage: 'اكتب *{command} send المصلحة الموضوع* ثم النص في الأسطر التالية، أو *{command} send* وحدها لفتح الاستمارة.',
    emptyBody: 'المراسلة فارغة: اكتب موضوعا أو نصا.',
    registered: 'سُجّلت مراسلتك تحت الرقم *{number}* وأُحيلت إلى: {departments}.',
    alreadyRegistered: 'سبق تسجيل هذه المراسلة تحت الرقم *{number}*.',
    answerRegistered: 'سُجّل جوابك تحت الرقم *{number}*، وهو في طريقه إلى مرسل المراسلة {answers}.',
    notRegistered: 'تعذّر تسجيل مراسلتك الآن ولم يُحفظ شيء. أعد المحاولة بعد قليل.',
    tooLarge: 'هذه المراسلة كبيرة جدا ({size})، والحد هو {limit}. لم يُحفظ شيء.',
    fileUnreadable: 'لم يسمح لنا Slack بقراءة أحد المرفقات ولم يُحفظ شيء. أرفق الملف مرة أخرى من حاسوبك.',
    modalUnavailable: 'تعذّر فتح الاستمارة. أعد المحاولة أو اكتب *{command} send المصلحة الموضوع*.',
    noDepartmentHere: 'هذه القناة ليست قناة أي مصلحة: استعمل *{command} list* في قناة مصلحة.',
    listEmpty: 'لا توجد مراسلات مفتوحة لـ{department}.',
    listHeading: 'المراسلات المفتوحة لـ{department}:',
    statusLine: '*{number}* — {status} — سُجّلت في {date}',
    statusDepartments: 'تعالجها: {departments}',
    modalTitle: 'إرسال مراسلة',
    modalSubmit: 'إرسال',
    modalCancel: 'إلغاء',
    modalDone: 'سُجّلت المراسلة',
    fieldDepartment: 'المصلحة',
    fieldDepartmentPlaceholder: 'اختر مصلحة',
    fieldSubject: 'الموضوع',
    fieldBody: 'النص',
    fieldFiles: 'المرفقات',
    receiptLink: 'وصل الاستلام',
    forwardHeading: 'مراسلة {number}',
    forwardFrom: 'من',
    forwardSubject: 'الموضوع',
    forwardFiles: 'المرفقات: {count} (في السلسلة)',
    forwardReplyHint: 'للرد على المرسل، أجب في سلسلة هذه الرسالة.',
    acknowledge: 'التكفّل',
    transferTo: 'إحالة إلى…',
    close: 'إغلاق',
    acknowledged: 'تكفّل بها {actor} في {date}',
    transferred: 'أحالها {actor} إلى {department} في {date}',
    closed: 'أغلقها {actor} في {date}',
    actionRefused: 'تعذّر تسجيل الإجراء: {reason}',
    answerNotRegistered: 'تعذّر تسجيل جوابك ولم يُرسل شيء. أعد المحاولة بعد قليل.',
    status: {
      registered: 'مسجّلة',
      forwarded: 'محالة إلى المصلحة',
      acknowledged: 'قيد المعالجة',
      transferred: 'أعيدت إحالتها',
      answered: 'أُجيب عنها',
      closed: 'مغلقة',
    },
  },
};

export type PhraseKey = Exclude<keyof Phrases, 'status'>;

export function isSlackLanguage(value: string | undefined): value is SlackLanguage {
  return (SLACK_LANGUAGES as readonly string[]).includes(value ?? '');
}

/** Slack locales look like `fr-FR`; anything we do not speak falls back to the default. */
export function languageOfLocale({ locale, fallback }: { locale: string | undefined; fallback: SlackLanguage }): SlackLanguage {
  const primary = locale?.slice(0, 2).toLowerCase();
  return isSlackLanguage(primary) ? primary : fallback;
}

/** A phrase in one language with its `{placeholders}` filled; unknown placeholders stay visible. */
export function say({ language, key, values = {} }: { language: SlackLanguage; key: PhraseKey; values?: Record<string, string | number> }): string {
  return PHRASES[language][key].replace(/\{(\w+)\}/g, (whole, name: string) => (name in values ? String(values[name]) : whole));
}

export function statusName({ language, status }: { language: SlackLanguage; status: LetterStatus }): string {
  return PHRASES[language].status[status];
}

export const ACTION_PHRASE: Record<LetterAction, PhraseKey> = {
  acknowledged: 'acknowledged',
  transferred: 'transferred',
  closed: 'closed',
};
