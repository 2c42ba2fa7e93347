/** The part of mailauth's API the email adapter uses (the package ships no types). */
declare module 'mailauth' {
  /** Answers like `dns.promises.resolve(name, rrtype)`: TXT records as arrays of strings; errors carry `code` (ENOTFOUND, ENODATA). */
  export type MailauthResolver = (name: string, rrtype: string) => Promise<unknown>;

  interface Status {
    result: string;
    comment?: string;
  }

  export interface AuthenticationResult {
    dkim: { results?: { status: Status & { aligned?: string | false }; signingDomain?: string }[]; headerFrom?: string[] };
    spf: { status: Status; domain?: string } | false;
    dmarc: { status: Status; domain?: string; policy?: string } | false;
    /** The Authentication-Results header (and Received-SPF) mailauth would prepend, folded. */
    headers: string;
  }

  export function authenticate(
    input: Buffer | string,
    options: {
      ip: string;
      helo?: string | undefined;
      sender: string;
      mta: string;
      resolver?: MailauthResolver | undefined;
      trustReceived?: boolean;
      disableArc?: boolean;
      disableBimi?: boolean;
      minBitLength?: number;
    },
  ): Promise<AuthenticationResult>;
}
