import type { AddressInfo } from "node:net";
import { type ParsedMail, simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";

/** A real SMTP server on a random local port that keeps every message it receives. */
export class MailCatcher {
  readonly messages: ParsedMail[] = [];
  private readonly server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onData: (stream, _session, done) => {
      simpleParser(stream)
        .then((mail) => this.messages.push(mail))
        .then(() => done(), done);
    },
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return `smtp://127.0.0.1:${(this.server.server.address() as AddressInfo).port}`;
  }

  /** The newest message to `to` whose subject matches, waiting a little for it to arrive. */
  async latest(to: string, subject: RegExp): Promise<ParsedMail> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const found = this.messages.filter(
        (m) => m.to && JSON.stringify(m.to).includes(to) && subject.test(m.subject ?? ""),
      );
      if (found.length > 0) return found[found.length - 1]!;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`no mail to ${to} matching ${subject}`);
  }

  /** The token in the link of a message (…?token=…), as a browser would read it. */
  static token(mail: ParsedMail): string {
    const match = mail.text?.match(/[?&]token=([A-Za-z0-9_%-]+)/);
    if (!match) throw new Error(`no token link in: ${mail.text}`);
    return decodeURIComponent(match[1]!);
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
