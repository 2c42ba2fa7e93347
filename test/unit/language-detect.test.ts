/** The language a letter is answered in when its mail does not declare one: Arabic, French or English, else the office's. */
import { describe, expect, it } from 'vitest';
import { DETECTION_SAMPLE_CHARS, detectLanguage, letterLanguage } from '../../src/letters/language-detect.js';

describe('the language of a letter', () => {
  it('is Arabic for a letter written in Arabic script, a Latin signature and link notwithstanding', () => {
    expect(
      detectLanguage({
        subject: 'طلب شهادة السكنى',
        text: 'السيد الرئيس، أتشرف بأن أطلب منكم تسليمي شهادة السكنى.\nوتقبلوا فائق الاحترام.\nMohamed Alaoui\nhttps://example.org/profil mohamed@example.org',
      }),
    ).toBe('ar');
  });

  it('is French for a French letter, and for one without accents', () => {
    expect(detectLanguage({ subject: 'Demande d’extrait d’acte de naissance', text: 'Madame, Monsieur, je vous prie de bien vouloir me délivrer un extrait.' })).toBe('fr');
    expect(detectLanguage({ subject: 'Objet : attestation', text: 'Je vous remercie pour votre aide et vous prie de recevoir mes salutations.' })).toBe('fr');
  });

  it('is English for an English letter', () => {
    expect(detectLanguage({ subject: 'Request for a birth certificate', text: 'Dear Sir or Madam, I would like to request a copy of my birth certificate. Thank you.' })).toBe('en');
  });

  it('follows the words the sender wrote in a mixed letter, not the quoted reply below it', () => {
    expect(detectLanguage({ subject: 'Re: Accusé de réception', text: 'شكرا على الرد، متى يمكنني الحصول على الوثيقة؟\n\n> Votre courrier a été enregistré sous le numéro 2026-A-000123.\n> Merci de votre confiance.' })).toBe('ar');
    expect(detectLanguage({ subject: 'Demande de شهادة السكنى', text: 'Je vous prie de me délivrer une attestation de résidence pour mon dossier.' })).toBe('fr');
  });

  it('says nothing when the text does not tell: empty, digits only, or no language of ours', () => {
    expect(detectLanguage({ subject: undefined, text: undefined })).toBeUndefined();
    expect(detectLanguage({ subject: '', text: '   \n' })).toBeUndefined();
    expect(detectLanguage({ subject: '2026-A-000123', text: '0612345678' })).toBeUndefined();
    expect(detectLanguage({ subject: 'Antrag', text: 'Sehr geehrte Damen und Herren' })).toBeUndefined();
  });

  it('reads the first few kilobytes only: what follows them does not change the answer', () => {
    const arabicOpening = 'أطلب منكم تسليمي نسخة من عقد الازدياد. '.repeat(Math.ceil(DETECTION_SAMPLE_CHARS / 30));
    const englishFlood = 'the request and the thank you of the letter '.repeat(200_000);
    expect(detectLanguage({ subject: undefined, text: arabicOpening + englishFlood })).toBe('ar');
    expect(detectLanguage({ subject: 'Request', text: 'Please find the copy of the document attached. '.repeat(200) + 'أطلب '.repeat(500_000) })).toBe('en');
  });

  it('keeps a language the mail declares when wasl speaks it, else detects, else falls back on the office language', () => {
    const arabicText = 'أتشرف بأن أطلب منكم نسخة من الوثيقة';
    expect(letterLanguage({ declared: 'en-GB', subject: undefined, text: arabicText, fallback: 'fr' })).toBe('en');
    expect(letterLanguage({ declared: 'de', subject: undefined, text: arabicText, fallback: 'fr' })).toBe('ar');
    expect(letterLanguage({ declared: undefined, subject: undefined, text: arabicText, fallback: 'fr' })).toBe('ar');
    expect(letterLanguage({ declared: undefined, subject: 'Antrag', text: '', fallback: 'fr' })).toBe('fr');
  });
});
