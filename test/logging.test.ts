import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "../src/platform/observability/logger.js";
import { runWithRequestContext } from "../src/platform/observability/request-context.js";

function capture() {
  const stream = new PassThrough();
  const lines: Record<string, any>[] = [];
  stream.on("data", (chunk) =>
    lines.push(
      ...String(chunk)
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l)),
    ),
  );
  return { log: createLogger("debug", stream), lines };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe("log redaction", () => {
  it("removes every kind of secret, wherever it sits in what is logged", async () => {
    const { log, lines } = capture();
    const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ";
    const error = Object.assign(
      new Error(`query failed near 'Bearer ${jwt}' with $argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA`),
      {
        meta: { password: "hunter2-hunter2" },
      },
    );
    log.warn("everything at once", {
      password: "p@ssw0rd-in-clear",
      newPassword: "another-secret-pw",
      input: { currentPassword: "nested-secret", displayName: "Shown" },
      accessToken: jwt,
      refreshToken: "opaque-refresh-token-value",
      totpSecret: "JBSWY3DPEHPK3PXP",
      recoveryCodes: ["abcde-fghij"],
      headers: { authorization: `Bearer ${jwt}`, cookie: "sid=session-cookie-value", "user-agent": "Agent/1" },
      link: "https://app.example.com/reset-password?token=mailed-secret-token",
      error,
    });
    await flush();
    const text = JSON.stringify(lines);
    for (const secret of [
      "p@ssw0rd-in-clear",
      "another-secret-pw",
      "nested-secret",
      jwt,
      "opaque-refresh-token-value",
      "JBSWY3DPEHPK3PXP",
      "abcde-fghij",
      "session-cookie-value",
      "mailed-secret-token",
      "hunter2-hunter2",
      "$argon2id$",
    ]) {
      expect(text).not.toContain(secret);
    }
    // What is not secret stays readable.
    expect(lines[0]).toMatchObject({ level: "warn", message: "everything at once", input: { displayName: "Shown" } });
    expect(lines[0]!.headers["user-agent"]).toBe("Agent/1");
    expect(lines[0]!.link).toBe("https://app.example.com/reset-password?token=[redacted]");
    expect(lines[0]!.error.message).toContain("query failed near");
    expect(lines[0]!.error.stack).toContain("Error:");
  });

  it("stamps each line with the time and the request and user of the request being served", async () => {
    const { log, lines } = capture();
    runWithRequestContext({ requestId: "req-42", userId: "user-7" }, () => log.info("inside"));
    log.info("outside");
    await flush();
    expect(lines[0]).toMatchObject({ message: "inside", requestId: "req-42", userId: "user-7" });
    expect(new Date(lines[0]!.time).getTime()).toBeGreaterThan(Date.now() - 10_000);
    expect(lines[1]!.requestId).toBeUndefined();
  });
});
