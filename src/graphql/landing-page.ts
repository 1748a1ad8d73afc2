import type { ApolloServerPlugin } from "@apollo/server";
import { ApolloServerPluginLandingPageLocalDefault } from "@apollo/server/plugin/landingPage/default";
import { EXPLORER_PATH } from "../platform/http/explorer.js";

/** The class of the link to the explorer on the landing page (tests find it by it). */
export const EXPLORER_LINK_CLASS = "kafkey-explorer-link";

/**
 * Puts a link to Kafkey's own explorer on an Apollo landing page's HTML, right after `<body>`. The page
 * allows only styles carrying its nonce (its CSP meta tag), so the link's style takes that nonce; a
 * page without one gets the link unstyled.
 */
export function withExplorerLink(html: string): string {
  const nonce = /'nonce-([0-9a-f]+)'/.exec(html)?.[1];
  const style = nonce
    ? `<style nonce="${nonce}">.${EXPLORER_LINK_CLASS}{position:fixed;right:0;bottom:0;z-index:10;margin:0;` +
      `padding:4px 10px;background:#fff;color:#111;font:13px sans-serif;border-top-left-radius:6px}</style>`
    : "";
  const link =
    `<p class="${EXPLORER_LINK_CLASS}">Sandbox loads from Apollo's CDN. Offline? ` +
    `<a href="${EXPLORER_PATH}">Kafkey's own explorer</a></p>`;
  return html.replace(/<body>/, (body) => `${body}${style}${link}`);
}

/**
 * Development's landing page at `GET /graphql`: Apollo's embedded Sandbox (from Apollo's CDN), with a
 * link to the explorer Kafkey serves itself, which works offline. Apollo's own options can add a
 * document, headers or a footer, but no link: hence this wrapper around its plugin.
 */
export function landingPageWithExplorer(): ApolloServerPlugin {
  const sandbox = ApolloServerPluginLandingPageLocalDefault({ embed: true });
  return {
    async serverWillStart(service) {
      const listener = await sandbox.serverWillStart?.(service);
      const render = listener?.renderLandingPage;
      if (!listener || !render) return listener;
      return {
        ...listener,
        async renderLandingPage() {
          const page = await render.call(listener);
          const { html } = page;
          return {
            html: typeof html === "string" ? withExplorerLink(html) : async () => withExplorerLink(await html()),
          };
        },
      };
    },
  };
}
