import type { Logger } from "./observability/logger.js";

interface OpenPart {
  name: string;
  close: () => Promise<void> | void;
}

/**
 * What an app has opened, closed in reverse: for a shutdown and for a start-up that fails half-way
 * alike, so a failed start leaves no connection, timer or client behind.
 */
export class Lifecycle {
  private readonly parts: OpenPart[] = [];
  private closing: Promise<void> | undefined;

  constructor(private readonly log: Logger) {}

  /** Registers `part` as open, to be closed by `close(part)` before everything opened earlier. */
  opened<T>(name: string, part: T, close: (part: T) => Promise<void> | void): T {
    this.parts.push({ name, close: () => close(part) });
    return part;
  }

  /**
   * Closes every part, last opened first; one that fails to close is logged and the others still
   * close. Once, however often called.
   */
  close(): Promise<void> {
    return (this.closing ??= (async () => {
      for (const part of this.parts.reverse()) {
        try {
          await part.close();
        } catch (error) {
          this.log.error("a part failed to close", { part: part.name, error });
        }
      }
    })());
  }
}
