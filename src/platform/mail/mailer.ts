import fs from "node:fs/promises";
import path from "node:path";
import nodemailer, { type Transporter } from "nodemailer";
import type { Logger } from "../observability/logger.js";

export interface Mail {
  to: string;
  subject: string;
  text: string;
  html: string;
}

/** Sends mail: over SMTP in production, into a development outbox otherwise. */
export interface Mailer {
  readonly kind: "smtp" | "outbox";
  send(mail: Mail): Promise<void>;
  close(): Promise<void>;
}

/** How long a mail may wait for the SMTP server, step by step. */
const SMTP_TIMEOUTS_MS = { connection: 5_000, greeting: 5_000, socket: 10_000 };

/** Delivers through the SMTP server at `url` (smtp:// or smtps://, credentials in the URL). */
export class SmtpMailer implements Mailer {
  readonly kind = "smtp";
  private readonly transport: Transporter;

  constructor(
    url: string,
    private readonly from: string,
  ) {
    // Nodemailer's own defaults wait 2 minutes for a connection and 10 for a silent socket: a mail
    // server that neither answers nor refuses would hold the request that sends the mail that long.
    this.transport = nodemailer.createTransport({
      url,
      connectionTimeout: SMTP_TIMEOUTS_MS.connection,
      greetingTimeout: SMTP_TIMEOUTS_MS.greeting,
      socketTimeout: SMTP_TIMEOUTS_MS.socket,
    });
  }

  async send(mail: Mail): Promise<void> {
    await this.transport.sendMail({ from: this.from, ...mail });
  }

  async close(): Promise<void> {
    this.transport.close();
  }
}

/**
 * Writes each message as an .eml file under `dir`, so `npm start` needs no mail server: open the file
 * (any mail client reads .eml) to follow its link. The log names the file, never the link, which
 * carries a secret token.
 */
export class OutboxMailer implements Mailer {
  readonly kind = "outbox";
  private readonly composer = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: "unix" });

  constructor(
    private readonly dir: string,
    private readonly from: string,
    private readonly log: Logger,
  ) {}

  async send(mail: Mail): Promise<void> {
    const info = (await this.composer.sendMail({ from: this.from, ...mail })) as { message: Buffer };
    await fs.mkdir(this.dir, { recursive: true });
    const file = path.join(
      this.dir,
      `${new Date().toISOString().replace(/[:.]/g, "-")}-${mail.subject.replace(/\W+/g, "-")}.eml`,
    );
    await fs.writeFile(file, info.message, { mode: 0o600 });
    this.log.info("mail written to the development outbox", { to: mail.to, subject: mail.subject, file });
  }

  async close(): Promise<void> {}
}
